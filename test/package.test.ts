// The package as a user installs it (README's quick start and the library section): `npm pack` (which builds dist/ through the `prepare` script), the tarball
// installed into an empty folder (dependencies from the npm cache the repository's own install filled, the
// registry otherwise), then used without the repository: plain node imports `solve`, a NodeNext TypeScript
// consumer type-checks, and the installed `m3fg` command runs a solve on worker threads.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.ts';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir: string;
let consumer: string;
let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string; size: number }> };
let installLog: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'm3fg-pack-'));
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  packed = JSON.parse(out.slice(out.indexOf('[')))[0];
  consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const res = spawnSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'warn', join(dir, packed.filename)], {
    cwd: consumer,
    encoding: 'utf8',
  });
  installLog = `${res.stdout}\n${res.stderr}`;
  if (res.status !== 0) throw new Error(`npm install of the tarball failed:\n${installLog}`);
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the compiled library, the CLI, the workers, the font, LICENSE and README, and no sources or tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of [
      'package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/bin/m3fg.js',
      'dist/worker/sweep-worker.js', 'dist/worker/episode-worker.js', 'dist/coordinator/report/fonts/DejaVuSans.ttf',
    ]) expect(paths).toContain(p);
    expect(paths).toContain('docs/games.md'); // README's links resolve in the installed package
    expect(paths.filter((p) => !p.startsWith('dist/') && !/^docs\/[\w-]+\.md$/.test(p) && !['package.json', 'LICENSE', 'README.md'].includes(p))).toEqual([]);
    expect(paths.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(readFileSync(join(repoRoot, 'LICENSE'), 'utf8')).toMatch(new RegExp(`^${pkg.license} License`));
    expect(pkg.dependencies.tsx).toBeUndefined();
    console.log(`${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${paths.length} files`);
  });

  it('installs on this Node without engine warnings and without tsx', () => {
    expect(installLog).not.toMatch(/EBADENGINE|engine/i);
    expect(existsSync(join(consumer, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(consumer, 'node_modules', 'm3fg', 'dist', 'index.js'))).toBe(true);
  });

  it('imports solve and OptionError with plain node', () => {
    const script = [
      "import { solve, OptionError } from 'm3fg';",
      "const { curve } = await solve({ game: 'sis', bins: 20, iterations: 2 });",
      'let refused = "";',
      "try { await solve({ game: 'sis', bins: 0 }); } catch (e) { refused = (e instanceof OptionError) + ' ' + e.message; }",
      'console.log(JSON.stringify({ major: curve[0].exploitability.major, n: curve.length, refused }));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, encoding: 'utf8' });
    const res = JSON.parse(out.trim().split('\n').pop()!);
    expect(res.n).toBe(2);
    expect(Math.abs(res.major - 78.27404152007739) / 78.27404152007739).toBeLessThan(1e-9); // crosscheck iteration 0
    expect(res.refused).toBe("true solve: bins: expected a positive integer, got '0'");
  });

  it('type-checks a NodeNext TypeScript consumer against the shipped declarations', () => {
    writeFileSync(
      join(consumer, 'consumer.ts'),
      [
        "import { solve, OptionError, builtinGames, type SolveRequest, type CurvePoint, type GameFamily } from 'm3fg';",
        "const request: SolveRequest = { game: 'sis', bins: 10, iterations: 2, algorithm: 'fpi' };",
        'const { curve, minorPolicy } = await solve(request);',
        'const last: CurvePoint = curve[curve.length - 1];',
        'const total: number = last.exploitability.total;',
        'const family: GameFamily = builtinGames.sis;',
        "// @ts-expect-error bins is a number",
        "const wrong: SolveRequest = { game: 'sis', bins: '10' };",
        "// @ts-expect-error not an algorithm",
        "const wrongAlgorithm: SolveRequest = { game: 'sis', algorithm: 'sgd' };",
        'export { total, family, wrong, wrongAlgorithm, minorPolicy, OptionError };',
      ].join('\n'),
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true,
          skipLibCheck: false, types: ['node'], typeRoots: [join(repoRoot, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8' });
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  });

  it('runs the installed m3fg command from dist/, on worker threads', () => {
    const bin = join(consumer, 'node_modules', '.bin', 'm3fg');
    const out = join(consumer, 'run');
    const res = spawnSync(bin, ['solve', '--game', 'cyber', '--bins', '20', '--iterations', '2', '--threads', '2', '--out', out, '--quiet'], {
      cwd: consumer,
      encoding: 'utf8',
    });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.executor).toBe('local');
    // the worker thread of the team ran blocks of the sweeps (a compiled worker entry loads from dist/)
    expect(run.sharding.blocks.workers).toBeGreaterThan(0);
    expect(existsSync(join(out, 'report', 'index.html'))).toBe(true);
    const version = spawnSync(bin, ['--version'], { cwd: consumer, encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
  });
});
