import * as fs from 'node:fs';
import * as os from 'node:os';

export interface PeakEstimate {
  /** Single-precision FLOP/s of all cores at the reported clock: an estimate, not a measurement. */
  gflops: number;
  cores: number;
  clockGHz: number;
  flopsPerCyclePerCore: number;
  /** How the number was derived, in words, for the report. */
  basis: string;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  clockGHz: number;
  memoryGiB: number;
  simdFlags: string[];
  nodeVersion: string;
  v8Version: string;
  platform: string;
  /** 1-minute load average when the benchmark started (other work on the machine). */
  loadAverageAtStart: number;
  peak: PeakEstimate;
}

function cpuinfo(): string {
  try {
    return fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
}

/**
 * FP32 peak = cores × clock × FLOP/cycle/core, with FLOP/cycle from the widest SIMD the flags
 * report × 2 (a fused multiply-add is two FLOPs) × the FMA pipes we assume: 2 × 256-bit on AVX2
 * cores and on AMD's AVX-512 (Zen 4 runs a 512-bit op as two 256-bit halves), 2 × 512-bit on
 * Intel AVX-512 server cores. Vendor documentation, not a measurement: stated as an estimate.
 */
export function estimatePeak(
  flags: readonly string[],
  vendor: string,
  cores: number,
  clockGHz: number,
): PeakEstimate {
  const has = (f: string) => flags.includes(f);
  const fma = has('fma') ? 2 : 1;
  let lanes = 4;
  let pipes = 2;
  let simd = 'SSE (128-bit)';
  if (has('avx512f') && vendor !== 'AuthenticAMD') {
    lanes = 16;
    simd = 'AVX-512 (2 × 512-bit FMA pipes assumed)';
  } else if (has('avx512f')) {
    lanes = 8;
    simd = 'AVX-512 on AMD (executed as 2 × 256-bit FMA pipes)';
  } else if (has('avx2') || has('avx')) {
    lanes = 8;
    simd = 'AVX2 (2 × 256-bit FMA pipes assumed)';
  } else pipes = 1;
  const flopsPerCyclePerCore = lanes * fma * pipes;
  return {
    gflops: cores * clockGHz * flopsPerCyclePerCore,
    cores,
    clockGHz,
    flopsPerCyclePerCore,
    basis:
      `estimate: ${cores} cores × ${clockGHz.toFixed(2)} GHz (/proc/cpuinfo "cpu MHz") × ` +
      `${flopsPerCyclePerCore} FP32 FLOP/cycle (${simd}, ×${fma} for FMA); from CPU flags, not measured`,
  };
}

export function machineInfo(): MachineInfo {
  const text = cpuinfo();
  const cores = os.cpus().length;
  const mhz = Number(field(text, 'cpu MHz') ?? os.cpus()[0]?.speed ?? 0);
  const clockGHz = mhz / 1000;
  const flags = (field(text, 'flags') ?? '').split(/\s+/);
  const simdFlags = flags.filter((f) =>
    /^(sse4_2|avx|avx2|fma|avx512f|avx512_bf16|avx512_vnni|neon|asimd)$/.test(f),
  );
  const vendor = field(text, 'vendor_id') ?? '';
  return {
    cpuModel: field(text, 'model name') ?? os.cpus()[0]?.model ?? 'unknown',
    cores,
    clockGHz,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    simdFlags,
    nodeVersion: process.version,
    v8Version: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg()[0],
    peak: estimatePeak(flags, vendor, cores, clockGHz),
  };
}
