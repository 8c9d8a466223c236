//! Stylus-style ink metering of a WASM module, for cost estimates without a Nitro
//! node. Like Nitro's ink meter (`arbitrator/prover/src/programs/meter.rs`), it
//! charges each basic block, when entered, the summed ink of its opcodes plus the
//! meter's own 12-opcode header; block boundaries and per-opcode prices follow
//! Nitro's `OperatorInfo::ends_basic_block` and `pricing_v1` (the table published
//! at docs.arbitrum.io/stylus/reference/opcode-hostio-pricing). Counters are two
//! exported i64 globals, `meter_ink` and `meter_ops` (opcodes executed, meter
//! excluded).

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{ConstExpr, ExportKind, GlobalType, Instruction, ValType};
use wasmparser::{Operator, Parser, Payload, TypeRef};

/// The meter's counters after a run.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    /// Ink the executed WASM opcodes cost under `pricing_v1` (host I/O excluded).
    pub ink: u64,
    /// WASM opcodes executed (the meter's own excluded).
    pub ops: u64,
}

/// Ink of one opcode under Nitro's `pricing_v1`; `None` for opcodes Stylus rejects
/// at activation (floats, SIMD, threads, reference types, ...).
pub fn ink(op: &Operator, params_of_type: &[usize]) -> Option<u64> {
    use Operator::*;
    Some(match op {
        Unreachable | Return | Nop | I32Const { .. } | I64Const { .. } => 1,
        Drop => 9,
        Block { .. } | Loop { .. } | Else | End => 1,
        Br { .. } | BrIf { .. } | If { .. } => 765,
        Select => 1250,
        Call { .. } => 3800,
        LocalGet { .. } | LocalTee { .. } => 75,
        LocalSet { .. } => 210,
        GlobalGet { .. } => 225,
        GlobalSet { .. } => 575,
        I32Load { .. }
        | I32Load8S { .. }
        | I32Load8U { .. }
        | I32Load16S { .. }
        | I32Load16U { .. } => 670,
        I64Load { .. }
        | I64Load8S { .. }
        | I64Load8U { .. }
        | I64Load16S { .. }
        | I64Load16U { .. }
        | I64Load32S { .. }
        | I64Load32U { .. } => 680,
        I32Store { .. } | I32Store8 { .. } | I32Store16 { .. } => 825,
        I64Store { .. } | I64Store8 { .. } | I64Store16 { .. } | I64Store32 { .. } => 950,
        MemorySize { .. } => 3000,
        MemoryGrow { .. } => 1, // priced by the memory model, not here
        I32Eqz | I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU | I32GeS
        | I32GeU => 170,
        I64Eqz | I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU | I64GeS
        | I64GeU => 225,
        I32Clz | I32Ctz | I64Clz | I64Ctz => 210,
        I32Add | I32Sub | I32And | I32Or | I32Xor | I32Shl | I32ShrS | I32ShrU | I32Rotl
        | I32Rotr => 70,
        I32Mul | I64Mul => 160,
        I32DivS | I32DivU | I32RemS | I32RemU => 1120,
        I64Add | I64Sub | I64And | I64Or | I64Xor | I64Shl | I64ShrS | I64ShrU | I64Rotl
        | I64Rotr => 100,
        I64DivS | I64DivU | I64RemS | I64RemU => 1270,
        I32Popcnt => 2650,
        I64Popcnt => 6000,
        I32WrapI64 | I64ExtendI32S | I64ExtendI32U | I32Extend8S | I32Extend16S | I64Extend8S
        | I64Extend16S | I64Extend32S => 100,
        MemoryCopy { .. } | MemoryFill { .. } => 950,
        BrTable { targets } => 2400 + 325 * targets.len() as u64,
        CallIndirect { type_index, .. } => {
            13610 + 650 * *params_of_type.get(*type_index as usize)? as u64
        }
        _ => return None,
    })
}

fn ends_basic_block(op: &Operator) -> bool {
    use Operator::*;
    matches!(
        op,
        End | Else
            | Return
            | Loop { .. }
            | Br { .. }
            | BrTable { .. }
            | BrIf { .. }
            | If { .. }
            | Call { .. }
            | CallIndirect { .. }
    )
}

/// Ink of Nitro's per-block header: `global.get; i64.const; i64.lt_u; if; i32.const;
/// global.set; unreachable; end; global.get; i64.const; i64.sub; global.set`.
fn header_ink() -> u64 {
    use Operator::*;
    let bt = wasmparser::BlockType::Empty;
    [
        GlobalGet { global_index: 0 },
        I64Const { value: 0 },
        I64LtU,
        If { blockty: bt },
        I32Const { value: 0 },
        GlobalSet { global_index: 0 },
        Unreachable,
        End,
        GlobalGet { global_index: 0 },
        I64Const { value: 0 },
        I64Sub,
        GlobalSet { global_index: 0 },
    ]
    .iter()
    .map(|op| ink(op, &[]).unwrap())
    .sum()
}

struct Meter {
    ink_global: u32,
    ops_global: u32,
    params_of_type: Vec<usize>,
    rejected: Vec<String>,
}

impl Meter {
    fn charge(&self, f: &mut wasm_encoder::Function, global: u32, amount: u64) {
        f.instruction(&Instruction::GlobalGet(global));
        f.instruction(&Instruction::I64Const(amount as i64));
        f.instruction(&Instruction::I64Add);
        f.instruction(&Instruction::GlobalSet(global));
    }
}

impl Reencode for Meter {
    type Error = std::convert::Infallible;

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error> {
        reencode::utils::parse_global_section(self, globals, section)?;
        for _ in 0..2 {
            let ty = GlobalType {
                val_type: ValType::I64,
                mutable: true,
                shared: false,
            };
            globals.global(ty, &ConstExpr::i64_const(0));
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error> {
        reencode::utils::parse_export_section(self, exports, section)?;
        exports.export("meter_ink", ExportKind::Global, self.ink_global);
        exports.export("meter_ops", ExportKind::Global, self.ops_global);
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        let mut block = Vec::new();
        let mut cost = 0u64;
        while !reader.eof() {
            let op = reader.read()?;
            match ink(&op, &self.params_of_type) {
                Some(c) => cost += c,
                None => self.rejected.push(format!("{op:?}")),
            }
            let ends = ends_basic_block(&op);
            block.push(self.instruction(op)?);
            if ends {
                self.charge(&mut f, self.ink_global, cost + header_ink());
                self.charge(&mut f, self.ops_global, block.len() as u64);
                for i in block.drain(..) {
                    f.instruction(&i);
                }
                cost = 0;
            }
        }
        code.function(&f);
        Ok(())
    }
}

/// `wasm` with the ink meter added. Fails if the module uses opcodes Stylus rejects
/// or lacks a global or export section.
pub fn instrument(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let (mut globals, mut has_exports, mut params_of_type) = (0u32, false, Vec::new());
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(s) => {
                for i in s {
                    if let TypeRef::Global(_) = i.map_err(|e| e.to_string())?.ty {
                        globals += 1;
                    }
                }
            }
            Payload::GlobalSection(s) => globals += s.count(),
            Payload::ExportSection(_) => has_exports = true,
            Payload::TypeSection(s) => {
                for t in s.into_iter_err_on_gc_types() {
                    params_of_type.push(t.map_err(|e| e.to_string())?.params().len());
                }
            }
            _ => {}
        }
    }
    if globals == 0 || !has_exports {
        return Err("the module needs a global and an export section to be metered".into());
    }
    let mut meter = Meter {
        ink_global: globals,
        ops_global: globals + 1,
        params_of_type,
        rejected: Vec::new(),
    };
    let mut module = wasm_encoder::Module::new();
    meter
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| e.to_string())?;
    if !meter.rejected.is_empty() {
        meter.rejected.sort();
        meter.rejected.dedup();
        return Err(format!("opcodes Stylus rejects: {:?}", meter.rejected));
    }
    Ok(module.finish())
}

/// The meter's counters, if `instance` was instrumented.
pub fn read(instance: &wasmi::Instance, store: &wasmi::Store<impl Sized>) -> Option<Reading> {
    let get = |name: &str| match instance.get_global(store, name)?.get(store) {
        wasmi::Val::I64(v) => Some(v as u64),
        _ => None,
    };
    Some(Reading {
        ink: get("meter_ink")?,
        ops: get("meter_ops")?,
    })
}

/// Host I/O ink of one call, from Nitro's hostio pricing: 8,400 ink per host call
/// (`HOSTIO_INK`), plus copying (`pay_for_write`: 5,040 + 30/byte past 32 into the
/// WASM; `pay_for_read`: 16,381 + 55/byte past 32 out of it) and, for calls into the
/// EVM, `EVM_API_INK` (59,673); `native_keccak256` pays `PTR_INK` (5,040) and
/// `pay_for_keccak` (121,800 + 21,000 per 32-byte word past two, I/O included).
/// Gas the call itself costs (precompile gas, the EVM's 100-gas warm access) is
/// counted separately.
pub fn hostio_ink(call: &super::HostCall) -> u64 {
    use super::HostCall::*;
    const HOSTIO: u64 = 8_400;
    let write = |n: usize| 5_040 + 30 * n.saturating_sub(32) as u64;
    let read = |n: usize| 16_381 + 55 * n.saturating_sub(32) as u64;
    HOSTIO
        + match call {
            ReadArgs(n) => write(*n),
            WriteResult(n) => read(*n),
            StaticCall { input_len, .. } => read(*input_len) + 59_673,
            ReadReturnData(n) => write(*n),
            Keccak(n) => 5_040 + 121_800 + 21_000 * (n.div_ceil(32) as u64).saturating_sub(2),
            PayForMemoryGrow(_) | Other(_) => 0,
        }
}
