// The memory of this machine, or of its container when that is less (cgroup v2 without a limit reports a huge number).

import { totalmem } from 'node:os';

export function machineMemory(): { bytes: number; source: string } {
  const total = totalmem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  if (constrained > 0 && constrained < total) return { bytes: constrained, source: "this container's memory" };
  return { bytes: total, source: "this machine's memory" };
}
