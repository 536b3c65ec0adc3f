//! Names the first difference between an expected and an actual world state, so a failed case
//! says which account or slot is wrong rather than only that the roots differ.

use executor::WorldState;

/// `None` when both states hold the same accounts, code hashes and storage.
pub fn first_difference(expected: &WorldState, actual: &WorldState) -> Option<String> {
    let mut addresses: Vec<_> = expected
        .accounts()
        .map(|(a, _)| *a)
        .chain(actual.accounts().map(|(a, _)| *a))
        .collect();
    addresses.sort();
    addresses.dedup();
    for address in addresses {
        match (expected.account(&address), actual.account(&address)) {
            (Some(_), None) => return Some(format!("account {address} missing")),
            (None, Some(_)) => return Some(format!("unexpected account {address}")),
            (Some(e), Some(a)) => {
                if e.nonce != a.nonce {
                    return Some(format!("{address} nonce {} expected {}", a.nonce, e.nonce));
                }
                if e.balance != a.balance {
                    return Some(format!(
                        "{address} balance {} expected {}",
                        a.balance, e.balance
                    ));
                }
                if e.code_hash != a.code_hash {
                    return Some(format!(
                        "{address} code hash {} expected {}",
                        a.code_hash, e.code_hash
                    ));
                }
                let mut slots: Vec<_> = e.storage.keys().chain(a.storage.keys()).copied().collect();
                slots.sort();
                slots.dedup();
                for slot in slots {
                    let (ev, av) = (e.storage.get(&slot), a.storage.get(&slot));
                    if ev != av {
                        return Some(format!(
                            "{address} slot {slot:#x} = {av:?}, expected {ev:?}"
                        ));
                    }
                }
            }
            (None, None) => {}
        }
    }
    None
}
