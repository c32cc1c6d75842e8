// Every NATS name derived from the subject prefix (--subject-prefix), in one place, as pure functions.
//
// A prefix is one or more dot-separated tokens of letters, digits and '-' (`m3fg`, `team.a`): it goes
// into subjects as it is (P.to.<x>.from.<y>, P.jobs.<hash>). Stream and bucket names allow no '.', so
// there a '.' becomes '_' (`team.a` -> `team_a-jobs`). '_' is refused in a prefix so that this stays
// one-to-one: `team_a` would otherwise share every stream and bucket with `team.a`.
// deploy/gen-users.sh writes the permissions with the same rule (${PREFIX//./_}).

/** Longest prefix accepted: stream names hold it plus a suffix, and JetStream keeps them short. */
export const MAX_PREFIX_LENGTH = 64;

/** Why `prefix` cannot be a subject prefix, or undefined when it can. */
export function subjectPrefixProblem(prefix: string): string | undefined {
  if (prefix.length === 0 || prefix.length > MAX_PREFIX_LENGTH) return `'${prefix}' must have 1 to ${MAX_PREFIX_LENGTH} characters`;
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(prefix)) {
    return `'${prefix}' is not a subject prefix (dot-separated words of letters, digits and -; no _, since a '.' becomes '_' in stream and bucket names)`;
  }
  return undefined;
}

/** The prefix as it appears in stream and bucket names. */
export function streamBase(prefix: string): string {
  const problem = subjectPrefixProblem(prefix);
  if (problem) throw new Error(`subject prefix ${problem}`);
  return prefix.replaceAll('.', '_');
}

export interface NatsNames {
  /** The job queue's stream (work queue) and the subjects it captures. */
  jobStream: string;
  jobSubjects: string;
  jobSubject(hash: string): string;
  /** The job stream's one durable pull consumer, from which every node fetches. */
  jobConsumer: string;
  /** The coordinator's results bucket (results it computed itself and the inputs of N-player jobs). */
  results: string;
  /** Node `node`'s results bucket: only that node may write it (deploy/gen-users.sh). */
  nodeResults(node: string): string;
  /** The job status key-value bucket. */
  status: string;
  /** The coordinator's fallback snapshot bucket of `solve --nats`. */
  snapshots: string;
  /** Node `node`'s snapshot bucket of `solve --nats`. */
  nodeSnapshots(node: string): string;
}

export function natsNames(prefix = 'm3fg'): NatsNames {
  const base = streamBase(prefix);
  return {
    jobStream: `${base}-jobs`,
    jobSubjects: `${prefix}.jobs.*`,
    jobSubject: (hash) => `${prefix}.jobs.${hash}`,
    jobConsumer: `${base}-job-workers`,
    results: `${base}-results`,
    nodeResults: (node) => `${base}-results-${node}`,
    status: `${base}-job-status`,
    snapshots: `${base}-snapshots`,
    nodeSnapshots: (node) => `${base}-snap-${node}`,
  };
}
