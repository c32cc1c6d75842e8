#!/usr/bin/env node
// Checks the shipped nats-server configs on a real nats-server, on a free loopback port, with the NATS.js
// client m3fg uses. Starts and stops its own server; touches nothing outside a temporary directory.
//
//   node deploy/check-auth.mjs          deploy/nats-server.conf: logins, per-user permissions, max_payload, and
//                                       the job queue's (no consumer a node could point at another's subject; a
//                                       node writes only its own status keys and results bucket, creates or
//                                       updates no stream, its snapshot bucket's included: the coordinator does)
//   node deploy/check-auth.mjs --tls    deploy/nats-server-tls.conf with certificates from deploy/gen-certs.sh:
//                                       the same checks over TLS, then TLS refusals and mutual TLS (verify: true)
//   node deploy/check-auth.mjs --conf F  the same checks on another (non-TLS) config file, e.g. the k8s ConfigMap's
//
// nats-server: from PATH, else /usr/sbin/nats-server, or set NATS_SERVER=/path/to/nats-server.
// Exits 0 when every check passes, 1 otherwise; prints one line per check.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, headers } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { Kvm } from '@nats-io/kv';

const deployDir = dirname(fileURLToPath(import.meta.url));
const tlsMode = process.argv.includes('--tls');
const confArg = process.argv.indexOf('--conf') >= 0 ? process.argv[process.argv.indexOf('--conf') + 1] : undefined;
const tmp = mkdtempSync(join(tmpdir(), 'm3fg-check-'));
// A letter first, then hex: nats-server reads $VAR values as config values (see nats-server.conf).
const pw = () => `m3fg${randomBytes(24).toString('hex')}`;
const pass = { coordinator: pw(), 'node-1': pw(), 'node-2': pw(), 'node-3': pw(), 'node-4': pw() };
const servers = [];
let failures = 0;
// Whatever happens (an uncaught error included), no nats-server outlives this script.
process.on('exit', () => servers.forEach(({ child }) => child.exitCode === null && child.kill('SIGKILL')));

function natsServerBinary() {
  if (process.env.NATS_SERVER) return process.env.NATS_SERVER;
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
  console.error('nats-server not found: install it (Debian: apt-get install nats-server) or set NATS_SERVER');
  process.exit(1);
}

/** Starts nats-server on `confText` with `-p -1`; resolves with its URL once the ports file appears. */
async function startServer(name, confText) {
  const dir = join(tmp, name);
  spawnSync('mkdir', ['-p', dir]);
  const conf = join(dir, 'nats.conf');
  // JetStream's store in the temporary folder
  writeFileSync(conf, confText.replace(/^(\s*store_dir:).*$/m, `$1 "${join(dir, 'jetstream')}"`));
  // the users file the config includes, next to it (deploy/nats-users.conf, or the k8s ConfigMap's inline users)
  if (existsSync(join(deployDir, 'nats-users.conf'))) writeFileSync(join(dir, 'nats-users.conf'), readFileSync(join(deployDir, 'nats-users.conf')));
  const env = { ...process.env, M3FG_COORDINATOR_PASS: pass.coordinator };
  for (let k = 1; k <= 4; k++) env[`M3FG_NODE_${k}_PASS`] = pass[`node-${k}`];
  const child = spawn(natsServerBinary(), ['-c', conf, '-p', '-1', '--ports_file_dir', dir], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((r) => child.once('exit', r));
  servers.push({ child, exited });
  const deadline = Date.now() + 10_000;
  for (;;) {
    // ports file: DIR/nats-server_<pid>.ports = {"nats":["nats://127.0.0.1:PORT", ...]} (removed on exit)
    const file = readdirSync(dir).find((f) => f === `nats-server_${child.pid}.ports`);
    if (file) {
      const ports = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const port = new URL(ports.nats[0].replace(/^nats:/, 'http:')).port;
      return { url: `nats://127.0.0.1:${port}`, log: () => log };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server (${name}) did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function check(what, fn) {
  try {
    const detail = await fn();
    console.log(`ok    ${what}${typeof detail === 'string' ? `  [${detail}]` : ''}`);
  } catch (err) {
    failures++;
    console.log(`FAIL  ${what}: ${err?.message ?? err}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function refused(opts, pattern) {
  try {
    const nc = await connect({ reconnect: false, timeout: 5_000, ...opts });
    await nc.close();
  } catch (err) {
    const why = `${err.message}${err.cause?.message ? `: ${err.cause.message}` : ''}`;
    assert(pattern.test(why), `refused, but with '${why}' (expected ${pattern})`);
    return why;
  }
  throw new Error('the connection was accepted');
}

/** Collects the asynchronous errors (permission violations) the server sends to `nc`. */
function errorsOf(nc) {
  const errs = [];
  (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errs.push(s.error);
  })();
  return errs;
}

const settle = async (...ncs) => {
  for (const nc of ncs) await nc.flush();
  await new Promise((r) => setTimeout(r, 300));
};

/** Subscribes `nc` to `subject`; next() resolves with the next message's text. */
function mailbox(nc, subject) {
  const queue = [], waiters = [];
  nc.subscribe(subject, { callback: (_e, m) => (waiters.length ? waiters.shift()(m.string()) : queue.push(m.string())) });
  return {
    next: (ms = 3_000) =>
      queue.length
        ? Promise.resolve(queue.shift())
        : new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`nothing on ${subject} within ${ms} ms`)), ms);
            waiters.push((v) => (clearTimeout(t), resolve(v)));
          }),
  };
}

async function denied(errs, op, subject, action, nc) {
  action();
  await settle(nc);
  const hit = errs.find((e) => e?.name === 'PermissionViolationError' && e.operation === op && e.subject === subject);
  assert(hit, `no "Permissions Violation for ${op} to ${subject}" came back (got: ${errs.map((e) => e?.message).join('; ') || 'nothing'})`);
}

/** Logins and per-user permissions against the server at `url`; `tls` goes into every connect(). */
async function authChecks(url, tls) {
  const base = { servers: url, reconnect: false, timeout: 5_000, ...(tls ? { tls } : {}) };
  await check('no credentials: refused (Authorization Violation)', () => refused(base, /authorization violation/i));
  await check('node-1 with a wrong password: refused', () => refused({ ...base, user: 'node-1', pass: 'wrong' }, /authorization violation/i));
  await check("node-2's password for the node-1 user: refused", () => refused({ ...base, user: 'node-1', pass: pass['node-2'] }, /authorization violation/i));
  await check('the coordinator password for a node user: refused', () => refused({ ...base, user: 'node-1', pass: pass.coordinator }, /authorization violation/i));
  await check('unknown user: refused', () => refused({ ...base, user: 'admin', pass: pass.coordinator }, /authorization violation/i));

  let c, n1, n2;
  // with m3fg's inbox prefix: a user may read only its own inboxes _INBOX_<user>.> (JetStream replies)
  await check('coordinator, node-1 and node-2 with their own passwords: connected', async () => {
    c = await connect({ ...base, user: 'coordinator', pass: pass.coordinator, inboxPrefix: '_INBOX_coordinator' });
    n1 = await connect({ ...base, user: 'node-1', pass: pass['node-1'], inboxPrefix: '_INBOX_node-1' });
    n2 = await connect({ ...base, user: 'node-2', pass: pass['node-2'], inboxPrefix: '_INBOX_node-2' });
  });
  if (!c || !n1 || !n2) return;
  const cErr = errorsOf(c), n1Err = errorsOf(n1);
  await check('max_payload is 8MB (8388608 bytes) in the server INFO', () => assert(c.info.max_payload === 8 * 1024 * 1024, `max_payload ${c.info.max_payload}`));
  if (tls) await check('the server requires TLS (tls_required in INFO)', () => assert(c.info.tls_required === true, JSON.stringify(c.info.tls_required)));

  // The protocol's allowed paths (default prefix m3fg): m3fg.to.<receiver>.from.<sender>.
  const toC = mailbox(c, 'm3fg.to.coord.from.*');
  const toN1 = mailbox(n1, 'm3fg.to.node-1.from.*');
  const toN2 = mailbox(n2, 'm3fg.to.node-2.from.*');
  await settle(c, n1, n2);
  await check('coordinator -> node-1 (m3fg.to.node-1.from.coord)', async () => {
    c.publish('m3fg.to.node-1.from.coord', 'order');
    assert((await toN1.next()) === 'order', 'wrong message');
  });
  await check('node-1 -> coordinator (m3fg.to.coord.from.node-1)', async () => {
    n1.publish('m3fg.to.coord.from.node-1', 'answer');
    assert((await toC.next()) === 'answer', 'wrong message');
  });
  await check('node-1 -> node-2 (halo rows, m3fg.to.node-2.from.node-1)', async () => {
    n1.publish('m3fg.to.node-2.from.node-1', 'halo');
    assert((await toN2.next()) === 'halo', 'wrong message');
  });

  // What no party may do: the server answers "Permissions Violation" and delivers nothing.
  await check('node-1 cannot speak as node-2 or as the coordinator (violation, not delivered)', async () => {
    await denied(n1Err, 'publish', 'm3fg.to.coord.from.node-2', () => n1.publish('m3fg.to.coord.from.node-2', 'forged'), n1);
    await denied(n1Err, 'publish', 'm3fg.to.node-2.from.coord', () => n1.publish('m3fg.to.node-2.from.coord', 'forged'), n1);
    await settle(c, n2);
    await toC.next(300).then(() => assert(false, 'the coordinator received it'), () => {});
    await toN2.next(300).then(() => assert(false, 'node-2 received it'), () => {});
  });
  await check("node-1 cannot read node-2's or the coordinator's subjects, nor >", async () => {
    await denied(n1Err, 'subscription', 'm3fg.to.node-2.from.*', () => n1.subscribe('m3fg.to.node-2.from.*'), n1);
    await denied(n1Err, 'subscription', 'm3fg.to.coord.from.*', () => n1.subscribe('m3fg.to.coord.from.*'), n1);
    await denied(n1Err, 'subscription', '>', () => n1.subscribe('>'), n1);
  });
  await check("the coordinator cannot speak as a node nor read a node's subjects", async () => {
    await denied(cErr, 'publish', 'm3fg.to.node-2.from.node-1', () => c.publish('m3fg.to.node-2.from.node-1', 'forged'), c);
    await denied(cErr, 'subscription', 'm3fg.to.node-1.from.*', () => c.subscribe('m3fg.to.node-1.from.*'), c);
  });
  if (c.info.jetstream) await jetStreamChecks(c, n1, cErr, n1Err, toC, toN2);
  await check('connections survive the violations (not fatal)', async () => {
    for (const nc of [c, n1, n2]) await nc.flush();
    assert(!c.isClosed() && !n1.isClosed(), 'a connection closed');
  });
  for (const nc of [c, n1, n2]) await nc.close();
}

/**
 * The job queue's rights: node-1 pulls jobs from the one durable pull consumer and reads results with message
 * gets, but may create no consumer anywhere. Whoever creates a consumer names its delivery subject (in the
 * request's payload, out of reach of subject permissions), and could have the server deliver stored bytes on
 * m3fg.to.coord.from.node-2: a forged sender. The coordinator may create only the job stream's durable.
 */
async function jetStreamChecks(c, n1, cErr, n1Err, toC, toN2) {
  await check('coordinator creates the job queue: stream m3fg-jobs, durable pull consumer m3fg-job-workers, bucket m3fg-results', async () => {
    const jsm = await jetstreamManager(c);
    await jsm.streams.add({ name: 'm3fg-jobs', subjects: ['m3fg.jobs.*'], retention: RetentionPolicy.Workqueue });
    await jsm.consumers.add('m3fg-jobs', { durable_name: 'm3fg-job-workers', ack_policy: AckPolicy.Explicit });
    await (await new Objm(c).create('m3fg-results')).putBlob({ name: 'r' }, new Uint8Array(1000).fill(7));
    await jetstream(c).publish('m3fg.jobs.h', 'job');
  });
  await check('node-1 pulls the job from m3fg-job-workers and acks it; reads the result object with message gets', async () => {
    const msg = await (await jetstream(n1).consumers.get('m3fg-jobs', 'm3fg-job-workers')).next({ expires: 3_000 });
    assert(msg?.string() === 'job', `pulled ${msg?.string()}`);
    await msg.ackAck();
    const jsm = await jetstreamManager(n1, { checkAPI: false });
    const meta = await jsm.streams.getMessage('OBJ_m3fg-results', { last_by_subj: `$O.m3fg-results.M.${Buffer.from('r').toString('base64url')}==` });
    const { nuid, size } = meta.json();
    const chunk = await jsm.streams.getMessage('OBJ_m3fg-results', { last_by_subj: `$O.m3fg-results.C.${nuid}` });
    assert(size === 1000 && chunk.data.length === 1000 && chunk.data.every((b) => b === 7), 'wrong object');
  });
  const refusedConsumer = async (nc, errs, stream, name, deliver) => {
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 2_000 });
    const made = await jsm.consumers.add(stream, { name, deliver_subject: deliver, ack_policy: AckPolicy.None }).then(() => true, () => false);
    assert(!made, `a consumer on ${stream} was created`);
    await settle(nc);
    const subject = `$JS.API.CONSUMER.CREATE.${stream}.${name}`;
    assert(errs.some((e) => e?.name === 'PermissionViolationError' && e.subject === subject), `no "Permissions Violation for publish to ${subject}" came back`);
  };
  await check('node-1 may create no consumer (a forged sender): results, jobs (the durable name too), status, snapshot buckets', async () => {
    for (const [stream, name] of [['OBJ_m3fg-results', 'forge'], ['m3fg-jobs', 'forge'], ['m3fg-jobs', 'm3fg-job-workers'], ['KV_m3fg-job-status', 'forge'], ['OBJ_m3fg-snap-node-1', 'forge'], ['OBJ_m3fg-snap-node-2', 'forge']]) {
      await refusedConsumer(n1, n1Err, stream, name, 'm3fg.to.coord.from.node-2');
    }
    await toC.next(300).then((m) => assert(false, `the coordinator received '${m}'`), () => {});
  });
  await check("the coordinator may create no consumer on the results bucket, nor one of another name on the job stream", async () => {
    await refusedConsumer(c, cErr, 'OBJ_m3fg-results', 'forge', 'm3fg.to.node-2.from.node-1');
    await refusedConsumer(c, cErr, 'm3fg-jobs', 'forge', 'm3fg.to.node-2.from.node-1');
    await toN2.next(300).then((m) => assert(false, `node-2 received '${m}'`), () => {});
  });
  await integrityChecks(c, n1, n1Err);
}

/**
 * Integrity of the job queue: every key and object a node writes carries its name, and the permissions let
 * it write no other. node-1 writes its presence and its job keys, and objects into its own results bucket
 * m3fg-results-node-1 (created by the coordinator); it may not write the coordinator's keys or node-2's, put
 * or purge in the coordinator's bucket or node-2's, delete status messages, or create any stream (a stream's
 * creator picks the subjects it captures: it could capture m3fg.to.node-2.from.* and read it back).
 */
async function integrityChecks(c, n1, n1Err) {
  const ok = async (p) => p.then(() => true, () => false);
  let kvC, kvN1;
  await check('coordinator creates the status bucket (rollup headers off, as m3fg does) and node-1\'s results bucket', async () => {
    kvC = await new Kvm(c).create('m3fg-job-status', { history: 1 });
    const jsm = await jetstreamManager(c);
    const si = await jsm.streams.info('KV_m3fg-job-status');
    await jsm.streams.update('KV_m3fg-job-status', { ...si.config, allow_rollup_hdrs: false });
    await new Objm(c).create('m3fg-results-node-1');
    await new Objm(c).create('m3fg-results-node-2');
    await kvC.put('h', 'queued');
  });
  await check('node-1 writes its own status keys (node.node-1, job.node-1.h) and puts into its own results bucket', async () => {
    kvN1 = await new Kvm(n1).open('m3fg-job-status');
    await kvN1.put('node.node-1', 'here');
    await kvN1.put('job.node-1.h', 'done');
    await (await new Objm(n1).open('m3fg-results-node-1')).putBlob({ name: 'h' }, new Uint8Array(500).fill(3));
    assert((await kvN1.get('h'))?.string() === 'queued', 'node-1 cannot read the coordinator\'s key');
  });
  await check("node-1 may not write the coordinator's status keys nor node-2's (violation, value unchanged)", async () => {
    for (const key of ['h', 'job.node-2.h', 'node.node-2']) {
      const subject = `$KV.m3fg-job-status.${key}`;
      await denied(n1Err, 'publish', subject, () => n1.publish(subject, 'forged'), n1);
    }
    assert((await kvC.get('h'))?.string() === 'queued', 'the coordinator\'s key changed');
    assert((await kvC.get('job.node-2.h')) === null, 'node-2\'s key was written');
  });
  await check('a Nats-Rollup: all put on its own key is refused (it would purge every key of the bucket)', async () => {
    const h = headers();
    h.set('Nats-Rollup', 'all');
    const put = await ok(jetstream(n1).publish('$KV.m3fg-job-status.job.node-1.x', 'wipe', { headers: h, timeout: 2_000 }));
    assert(!put, 'the rollup was stored');
    assert((await kvC.get('h'))?.string() === 'queued', 'the coordinator\'s key was changed or purged');
  });
  await check("node-1 may not put, purge or delete in the coordinator's results bucket, node-2's or the status bucket", async () => {
    for (const subject of ['$O.m3fg-results.M.aA==', '$O.m3fg-results.C.x', '$O.m3fg-results-node-2.C.x', '$JS.API.STREAM.PURGE.OBJ_m3fg-results', '$JS.API.STREAM.PURGE.OBJ_m3fg-results-node-2', '$JS.API.STREAM.PURGE.KV_m3fg-job-status', '$JS.API.STREAM.MSG.DELETE.KV_m3fg-job-status', '$JS.API.STREAM.DELETE.OBJ_m3fg-results-node-1', '$JS.API.STREAM.UPDATE.OBJ_m3fg-results-node-1']) {
      await denied(n1Err, 'publish', subject, () => n1.publish(subject, '{}'), n1);
    }
    const r = await jetstreamManager(c).then((jsm) => jsm.streams.info('OBJ_m3fg-results'));
    assert(r.state.messages >= 2, `the coordinator's bucket lost objects (${r.state.messages} messages)`);
  });
  await check('node-1 may create no stream (one capturing m3fg.to.node-2.from.*, or its own results bucket)', async () => {
    for (const [name, subjects] of [['capture', ['m3fg.to.node-2.from.*']], ['OBJ_m3fg-results-node-1x', ['$O.m3fg-results-node-1x.>']]]) {
      const subject = `$JS.API.STREAM.CREATE.${name}`;
      await denied(n1Err, 'publish', subject, () => n1.publish(subject, JSON.stringify({ name, subjects })), n1);
    }
  });
  await check("the coordinator creates node-1's snapshot bucket m3fg-snap-node-1; node-1 opens it and puts into it", async () => {
    await new Objm(c).create('m3fg-snap-node-1');
    await (await new Objm(n1).open('m3fg-snap-node-1')).putBlob({ name: 'run.2.minorPolicy' }, new Uint8Array(700).fill(5));
  });
  // the hole of an earlier users file: a node could create (or update) its own snapshot bucket's stream, and a
  // stream's creator picks the subjects it captures: OBJ_m3fg-snap-node-1 capturing m3fg.to.node-2.from.*
  await check("node-1 may create or update no stream capturing node-2's subjects, under any name (its own snapshot bucket's included)", async () => {
    const capture = ['m3fg.to.node-2.from.*'];
    const jsm = await jetstreamManager(n1, { checkAPI: false, timeout: 2_000 });
    const made = await jsm.streams.add({ name: 'OBJ_m3fg-snap-node-1x', subjects: capture }).then(() => true, () => false);
    assert(!made, 'node-1 created a stream capturing m3fg.to.node-2.from.*');
    for (const name of ['OBJ_m3fg-snap-node-1', 'OBJ_m3fg-snap-node-2', 'OBJ_m3fg-results-node-1', 'KV_m3fg-job-status', 'm3fg-jobs', 'OBJ_m3fg-snapshots']) {
      for (const op of ['CREATE', 'UPDATE']) {
        const subject = `$JS.API.STREAM.${op}.${name}`;
        await denied(n1Err, 'publish', subject, () => n1.publish(subject, JSON.stringify({ name, subjects: capture })), n1);
      }
    }
    const si = await jetstreamManager(c).then((m) => m.streams.info('OBJ_m3fg-snap-node-1'));
    assert(!si.config.subjects.includes(capture[0]), `OBJ_m3fg-snap-node-1 captures ${si.config.subjects.join(', ')}`);
  });
}

async function main() {
  const confFile = confArg ?? join(deployDir, tlsMode ? 'nats-server-tls.conf' : 'nats-server.conf');
  const conf = readFileSync(confFile, 'utf8');
  console.log(`nats-server: ${spawnSync(natsServerBinary(), ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
  // The shipped config listens on 0.0.0.0; bind the test server to loopback (-p -1 picks the port).
  const loopback = (text) => text.replace(/^listen: .*$/m, 'listen: 127.0.0.1:4222');
  if (!tlsMode) {
    const { url } = await startServer('plain', loopback(conf));
    console.log(`config: ${confFile} at ${url}`);
    await authChecks(url);
    return;
  }
  const certs = join(tmp, 'certs');
  const gen = spawnSync('bash', [join(deployDir, 'gen-certs.sh'), certs, '--client'], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`gen-certs.sh failed:\n${gen.stdout}${gen.stderr}`);
  console.log(`certificates: deploy/gen-certs.sh ${certs} --client`);
  const tlsConf = loopback(conf).replaceAll('/etc/nats/tls/', `${certs}/`);
  const { url } = await startServer('tls', tlsConf);
  console.log(`config: deploy/nats-server-tls.conf (cert paths -> ${certs}) at ${url}`);
  const caFile = join(certs, 'ca.pem');
  const login = { user: 'node-1', pass: pass['node-1'], reconnect: false, timeout: 5_000 };
  await check('TLS client without the CA: refused (certificate not trusted)', () => refused({ servers: url, ...login }, /certificate|self.signed|verify/i));
  await check('TLS client with --tls-ca: connected; tls:// URL works too', async () => {
    await (await connect({ servers: url, ...login, tls: { caFile } })).close();
    await (await connect({ servers: url.replace('nats://', 'tls://'), ...login, tls: { caFile } })).close();
  });
  await authChecks(url, { caFile });

  // Mutual TLS: the same file with `verify: true`.
  const { url: murl } = await startServer('mtls', tlsConf.replace(/^(\s*)verify: false/m, '$1verify: true'));
  console.log(`config: the same with verify: true (mutual TLS) at ${murl}`);
  await check('verify: true, client without a certificate: refused', () => refused({ servers: murl, ...login, tls: { caFile } }, /certificate/i));
  await check('verify: true, client with gen-certs.sh --client certificate: connected', async () => {
    const tls = { caFile, certFile: join(certs, 'client-cert.pem'), keyFile: join(certs, 'client-key.pem') };
    await (await connect({ servers: murl, ...login, tls })).close();
  });
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`check-auth: ${err?.stack ?? err}`);
  code = 1;
} finally {
  for (const { child, exited } of servers) {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
}
if (failures) console.log(`${failures} check(s) failed`);
else if (!code) console.log('all checks passed; servers stopped');
process.exit(code || (failures ? 1 : 0));
