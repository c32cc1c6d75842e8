#!/usr/bin/env node
// Checks the shipped nats-server configs on a real nats-server, on a free loopback port, with the NATS.js
// client m3fg uses. Starts and stops its own server; touches nothing outside a temporary directory.
//
//   node deploy/check-auth.mjs          deploy/nats-server.conf: logins, per-user permissions, max_payload
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
import { connect } from '@nats-io/transport-node';

const deployDir = dirname(fileURLToPath(import.meta.url));
const tlsMode = process.argv.includes('--tls');
const confArg = process.argv.indexOf('--conf') >= 0 ? process.argv[process.argv.indexOf('--conf') + 1] : undefined;
const tmp = mkdtempSync(join(tmpdir(), 'm3fg-check-'));
// A letter first, then hex: nats-server reads $VAR values as config values (see nats-server.conf).
const pass = { coordinator: `m3fg${randomBytes(24).toString('hex')}`, worker: `m3fg${randomBytes(24).toString('hex')}` };
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
  writeFileSync(conf, confText);
  const env = { ...process.env, M3FG_COORDINATOR_PASS: pass.coordinator, M3FG_WORKER_PASS: pass.worker };
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
  await check('worker with a wrong password: refused', () => refused({ ...base, user: 'worker', pass: 'wrong' }, /authorization violation/i));
  await check('coordinator password for the worker user: refused', () => refused({ ...base, user: 'worker', pass: pass.coordinator }, /authorization violation/i));
  await check('unknown user: refused', () => refused({ ...base, user: 'admin', pass: pass.coordinator }, /authorization violation/i));

  let c, w1, w2;
  await check('coordinator and worker with the right passwords: connected', async () => {
    c = await connect({ ...base, user: 'coordinator', pass: pass.coordinator });
    w1 = await connect({ ...base, user: 'worker', pass: pass.worker });
    w2 = await connect({ ...base, user: 'worker', pass: pass.worker });
  });
  if (!c || !w1 || !w2) return;
  const cErr = errorsOf(c), w1Err = errorsOf(w1);
  await check('max_payload is 8MB (8388608 bytes) in the server INFO', () => assert(c.info.max_payload === 8 * 1024 * 1024, `max_payload ${c.info.max_payload}`));
  if (tls) await check('the server requires TLS (tls_required in INFO)', () => assert(c.info.tls_required === true, JSON.stringify(c.info.tls_required)));

  // The protocol's allowed paths (default prefix m3fg).
  const forged = { work: 0, node: 0 };
  w1.subscribe('m3fg.work', { queue: 'm3fg-workers', callback: (_e, m) => m.reply && w1.publish(m.reply, 'claimed') });
  w1.subscribe('m3fg.node.n1', { callback: (_e, m) => (m.string() === 'forged' ? forged.node++ : m.reply && w1.publish(m.reply, 'result')) });
  w2.subscribe('m3fg.work', { callback: (_e, m) => m.string() === 'forged' && forged.work++ });
  const replies = mailbox(c, 'm3fg.reply.c1');
  const hbs = mailbox(c, 'm3fg.hb');
  await settle(c, w1, w2);
  await check('coordinator -> m3fg.work (queue group m3fg-workers) -> worker -> m3fg.reply.<id>', async () => {
    c.publish('m3fg.work', 'claim', { reply: 'm3fg.reply.c1' });
    assert((await replies.next()) === 'claimed', 'wrong reply');
  });
  await check('coordinator -> m3fg.node.<id> -> worker -> m3fg.reply.<id>', async () => {
    c.publish('m3fg.node.n1', 'task', { reply: 'm3fg.reply.c1' });
    assert((await replies.next()) === 'result', 'wrong reply');
  });
  await check('worker -> m3fg.hb -> coordinator', async () => {
    w1.publish('m3fg.hb', 'hb');
    assert((await hbs.next()) === 'hb', 'wrong heartbeat');
  });
  await check('request/reply over _INBOX.> (coordinator asks, worker answers)', async () => {
    const m = await c.request('m3fg.node.n1', 'task', { timeout: 3_000 });
    assert(m.string() === 'result', 'wrong answer');
  });

  // What each role must not do: the server answers "Permissions Violation" and delivers nothing.
  await check('worker cannot publish to m3fg.work (violation, not delivered)', async () => {
    await denied(w1Err, 'publish', 'm3fg.work', () => w1.publish('m3fg.work', 'forged'), w1);
    await settle(w2);
    assert(forged.work === 0, 'a worker received it');
  });
  await check('worker cannot publish to m3fg.node.<id> (violation, not delivered)', async () => {
    await denied(w1Err, 'publish', 'm3fg.node.n1', () => w1.publish('m3fg.node.n1', 'forged'), w1);
    assert(forged.node === 0, 'a worker received it');
  });
  await check('worker cannot subscribe to m3fg.reply.> or >', async () => {
    await denied(w1Err, 'subscription', 'm3fg.reply.>', () => w1.subscribe('m3fg.reply.>'), w1);
    await denied(w1Err, 'subscription', '>', () => w1.subscribe('>'), w1);
  });
  await check('coordinator cannot subscribe to m3fg.work or m3fg.node.>', async () => {
    await denied(cErr, 'subscription', 'm3fg.work', () => c.subscribe('m3fg.work', { queue: 'm3fg-workers' }), c);
    await denied(cErr, 'subscription', 'm3fg.node.>', () => c.subscribe('m3fg.node.>'), c);
  });
  await check('coordinator cannot publish to m3fg.hb or m3fg.reply.<id>', async () => {
    await denied(cErr, 'publish', 'm3fg.hb', () => c.publish('m3fg.hb', 'forged'), c);
    await denied(cErr, 'publish', 'm3fg.reply.c1', () => c.publish('m3fg.reply.c1', 'forged'), c);
  });
  await check('connections survive the violations (not fatal)', async () => {
    for (const nc of [c, w1, w2]) await nc.flush();
    assert(!c.isClosed() && !w1.isClosed(), 'a connection closed');
  });
  for (const nc of [c, w1, w2]) await nc.close();
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
  const login = { user: 'worker', pass: pass.worker, reconnect: false, timeout: 5_000 };
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
