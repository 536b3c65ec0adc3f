//! Internal Wasm helper functions implementing the 256-bit EVM arithmetic
//! opcodes that are too large to inline at every use.
//!
//! Conventions:
//! - A 256-bit word is four `i64` values, limb 0 (least significant) first.
//! - Operand `a` (params 0..4) is the top of the EVM stack, `b` (4..8) the
//!   second, `c` (8..12) the third. Every public helper returns 4 x i64.
//! - Helpers are functions of their params alone: no memory or imports;
//!   control flow only uses empty block types, so a body does not depend on
//!   the type section of the module it is placed in. Calls between helpers go
//!   through the `index_of` callback. The one state is MulMod's memo of a
//!   Barrett constant in the module's globals ([`barrett::globals`], which a
//!   module holding MulMod declares first); it changes no result.
//! - MVP instructions plus multi-value results and the wide-arithmetic
//!   proposal's `i64.mul_wide_u` and `i64.add128`, which Cranelift lowers to
//!   one native multiply and an add-with-carry (the engine enables them).
//!
//! Layout: `helpers/asm.rs` (instruction builder and limb-level building
//! blocks), `helpers/long_division.rs` (Knuth's algorithm D, which both of
//! the next two use), `helpers/div.rs` (the division-based helpers),
//! `helpers/barrett.rs` (MulMod's reduction by a memoised constant),
//! `helpers/ops.rs` (Mul, Exp and the bit-level helpers), `helpers/tests.rs`
//! (wasmer-run comparisons against ruint).

mod asm;
mod barrett;
mod div;
mod long_division;
mod ops;
#[cfg(test)]
mod tests;

use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Module, NameMap,
    NameSection, TypeSection, ValType,
};

/// One internal helper function of a compiled module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Helper {
    Mul,
    Div,
    Sdiv,
    Mod,
    Smod,
    AddMod,
    MulMod,
    Exp,
    SignExtend,
    Shl,
    Shr,
    Sar,
    Byte,
    Clz,
    /// Internal: unsigned `(a / b, a % b)` as 8 results (quotient limbs
    /// first), both 0 for `b == 0`. Shared by the division-based helpers.
    DivMod,
}

impl Helper {
    /// Every helper, the ones compiled code calls first.
    pub(crate) const ALL: [Helper; 15] = [
        Helper::Mul,
        Helper::Div,
        Helper::Sdiv,
        Helper::Mod,
        Helper::Smod,
        Helper::AddMod,
        Helper::MulMod,
        Helper::Exp,
        Helper::SignExtend,
        Helper::Shl,
        Helper::Shr,
        Helper::Sar,
        Helper::Byte,
        Helper::Clz,
        Helper::DivMod,
    ];

    /// The helpers compiled code calls (all but the internal DivMod, listed last), in import
    /// order.
    pub(crate) const PUBLIC: &[Helper] = Helper::ALL.split_last().expect("listed").1;

    /// A short lowercase name (the function's name in the module's name section).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Helper::Mul => "mul",
            Helper::Div => "div",
            Helper::Sdiv => "sdiv",
            Helper::Mod => "mod",
            Helper::Smod => "smod",
            Helper::AddMod => "addmod",
            Helper::MulMod => "mulmod",
            Helper::Exp => "exp",
            Helper::SignExtend => "signextend",
            Helper::Shl => "shl",
            Helper::Shr => "shr",
            Helper::Sar => "sar",
            Helper::Byte => "byte",
            Helper::Clz => "clz",
            Helper::DivMod => "divmod",
        }
    }

    /// Number of 256-bit operands (1 for Clz, 3 for AddMod/MulMod, else 2).
    pub(crate) fn arity(self) -> usize {
        match self {
            Helper::Clz => 1,
            Helper::AddMod | Helper::MulMod => 3,
            _ => 2,
        }
    }

    /// Parameter types: 4 * arity i64.
    pub(crate) fn params(self) -> Vec<ValType> {
        vec![ValType::I64; 4 * self.arity()]
    }

    /// Result types: 4 x i64 (8 x i64 for the internal DivMod).
    pub(crate) fn results(self) -> Vec<ValType> {
        let n = if self == Helper::DivMod { 8 } else { 4 };
        vec![ValType::I64; n]
    }

    /// Helpers this one calls directly.
    #[cfg(test)]
    pub(crate) fn deps(self) -> &'static [Helper] {
        match self {
            Helper::Div | Helper::Sdiv | Helper::Mod | Helper::Smod | Helper::AddMod => {
                &[Helper::DivMod]
            }
            Helper::MulMod => &[Helper::Mul, Helper::DivMod],
            Helper::Exp => &[Helper::Mul],
            _ => &[],
        }
    }

    /// The function body. `index_of` maps a helper to its Wasm function
    /// index in the module being built (only called for `deps()`).
    pub(crate) fn body(self, index_of: &dyn Fn(Helper) -> u32) -> Function {
        match self {
            Helper::Mul => ops::mul(),
            Helper::Div => div::div_or_mod(index_of, false),
            Helper::Mod => div::div_or_mod(index_of, true),
            Helper::Sdiv => div::signed(index_of, false),
            Helper::Smod => div::signed(index_of, true),
            Helper::AddMod => div::addmod(index_of),
            Helper::MulMod => div::mulmod(index_of),
            Helper::Exp => ops::exp(index_of),
            Helper::SignExtend => ops::signextend(),
            Helper::Shl | Helper::Shr | Helper::Sar => ops::shift(self),
            Helper::Byte => ops::byte(),
            Helper::Clz => ops::clz(),
            Helper::DivMod => div::divmod(),
        }
    }
}

/// The helpers module: every helper, exported by name. It is compiled once per engine and
/// instantiated once per Store, and contract modules import the public helpers from it, so
/// Cranelift does not compile the same 256-bit arithmetic again for every contract (MULMOD's
/// helpers alone took 7 ms). The helper tests run this very module against ruint.
pub fn module() -> Vec<u8> {
    let index_of = |h: Helper| Helper::ALL.iter().position(|&x| x == h).expect("listed") as u32;
    let (mut types, mut functions, mut exports) = (
        TypeSection::new(),
        FunctionSection::new(),
        ExportSection::new(),
    );
    let (mut code, mut names) = (CodeSection::new(), NameMap::new());
    for (i, &helper) in Helper::ALL.iter().enumerate() {
        let i = i as u32;
        types.ty().function(helper.params(), helper.results());
        functions.function(i);
        exports.export(helper.name(), ExportKind::Func, i);
        code.function(&helper.body(&index_of));
        names.append(i, helper.name());
    }
    let mut name_section = NameSection::new();
    name_section.functions(&names);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&barrett::globals())
        .section(&exports)
        .section(&code)
        .section(&name_section);
    module.finish()
}
