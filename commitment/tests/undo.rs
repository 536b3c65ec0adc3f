//! A reversible apply taken back restores the exact previous root, whatever the batch did:
//! creations, deletions, storage wipes, slot writes and deletes, repeated addresses.

use alloy_primitives::{Address, U256};
use commitment::{AccountUpdate, StateTrie, TrieAccount};
use proptest::prelude::*;

fn update() -> impl Strategy<Value = AccountUpdate> {
    (
        0u8..12,
        prop::option::weighted(0.85, (0u64..3, 0u64..4)),
        prop::bool::weighted(0.15),
        prop::collection::vec((0u64..16, 0u64..3), 0..6),
    )
        .prop_map(|(a, info, wipe_storage, storage)| AccountUpdate {
            address: Address::repeat_byte(a),
            info: info.map(|(nonce, balance)| TrieAccount {
                nonce,
                balance: U256::from(balance),
                code_hash: alloy_primitives::KECCAK256_EMPTY,
            }),
            wipe_storage,
            storage: storage
                .into_iter()
                .map(|(s, v)| (U256::from(s), U256::from(v)))
                .collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn revert_restores_the_root(
        base in prop::collection::vec(update(), 0..20),
        batch in prop::collection::vec(update(), 0..20),
    ) {
        let mut trie = StateTrie::new();
        trie.apply(&base);
        let before = trie.root();
        let undo = trie.apply_reversible(&batch);
        let mut expected = StateTrie::new();
        expected.apply(&base);
        expected.apply(&batch);
        prop_assert_eq!(trie.root(), expected.root());
        trie.revert(undo);
        prop_assert_eq!(trie.root(), before);
        prop_assert_eq!(trie.root_serial(), before);
    }
}
