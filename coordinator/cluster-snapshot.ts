// The cluster's durable state for recovery: every K iterations the policies (and OMD accumulators) are
// streamed from the nodes, window by window, into one file on the coordinator's disk (never into its memory),
// written to a temporary name and renamed, so the last complete snapshot is always whole. After a node is
// lost the executor re-cuts the shards over the live nodes, loads the snapshot back (file-backed
// TableSources, piece by piece) and replays the iterations since (coordinator/cluster-executor.ts).

import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PIECE_ELEMENTS, type PolicySources, type TableSource } from '../shared/table-source.ts';

const TABLES = ['minorPolicy', 'majorPolicy', 'minorY', 'majorY'] as const;

export class SnapshotFile {
  /** Iterations completed when the snapshot was taken (0: none yet). */
  iterations = 0;
  private layout: Array<{ name: (typeof TABLES)[number]; offset: number; length: number }> = [];
  private readonly path: string;

  constructor(dir: string, runId: string) {
    this.path = join(dir, `m3fg-cluster-snapshot-${runId}.bin`);
  }

  get taken(): boolean {
    return this.layout.length > 0;
  }

  async write(iterations: number, policies: PolicySources): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    const layout: SnapshotFile['layout'] = [];
    let offset = 0;
    try {
      for (const name of TABLES) {
        const source = policies[name];
        if (!source) continue;
        layout.push({ name, offset, length: source.length });
        await source.read((piece) => {
          const bytes = new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
          for (let o = 0; o < bytes.length; ) o += writeSync(fd, bytes, o, bytes.length - o);
        });
        offset += source.length * 8;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.layout = layout;
    this.iterations = iterations;
  }

  /** The snapshot's tables as sources read from the file. */
  sources(): PolicySources {
    const get = (name: (typeof TABLES)[number]): TableSource | undefined => {
      const entry = this.layout.find((e) => e.name === name);
      if (!entry) return undefined;
      const path = this.path;
      return {
        length: entry.length,
        async read(visit) {
          const fd = openSync(path, 'r');
          try {
            const piece = new Float64Array(Math.min(PIECE_ELEMENTS, entry.length));
            const bytes = new Uint8Array(piece.buffer);
            for (let e = 0; e < entry.length; e += piece.length) {
              const n = Math.min(piece.length, entry.length - e);
              let got = 0;
              while (got < n * 8) {
                const r = readSync(fd, bytes, got, n * 8 - got, entry.offset + e * 8 + got);
                if (r === 0) throw new Error(`cluster snapshot ${path} is shorter than its layout`);
                got += r;
              }
              await visit(piece.subarray(0, n), e);
            }
          } finally {
            closeSync(fd);
          }
        },
      };
    };
    return { minorPolicy: get('minorPolicy')!, majorPolicy: get('majorPolicy')!, minorY: get('minorY'), majorY: get('majorY') };
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}
