// Whether this CPU has VNNI (AVX-512 VNNI, AVX-VNNI or AMX int8): ORT's u8·s8 integer kernels without it sum pairs of
// products in 16 bits (vpmaddubsw), which saturate for full-range 8-bit weights; with 7-bit weights (reduce range)
// they cannot. Read from /proc/cpuinfo on x86-64 Linux; elsewhere (ARM's dot-product kernels do not saturate, or the
// flags are unknown) the answer is "no saturation risk known".
import { readFileSync } from 'node:fs';

/** True when this CPU's u8·s8 kernels can saturate with full-range int8 weights (x86-64 without VNNI). */
export function int8MayOverflow(cpuinfo?: string): boolean {
  if (cpuinfo === undefined) return (thisCpu ??= int8MayOverflow(readCpuinfo()));
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1].split(/\s+/) ?? [];
  if (!flags.length) return false;
  return !flags.some((f) => f === 'avx512_vnni' || f === 'avx_vnni' || f === 'amx_int8');
}

/** This machine's answer, read once (the CPU does not change under a running process). */
let thisCpu: boolean | undefined;

/** /proc/cpuinfo on x86-64 Linux; '' elsewhere or when unreadable (no flags: no saturation risk known). */
function readCpuinfo(): string {
  if (process.arch !== 'x64' || process.platform !== 'linux') return '';
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}
