// An ES module function imports `breakerbox` from the layer, laid out as Lambda mounts it: the
// harness builds the layer with its Makefile rule (the one `make layer` uses) into a temporary /opt,
// and this test plays /var/task beside it.
//
// ES modules do not read NODE_PATH, which is how CommonJS finds a layer's /opt/nodejs/node_modules
// locally. On Lambda the Node.js runtime (18 and later) resolves ES module imports from layers
// itself (https://repost.aws/knowledge-center/lambda-import-module-error-nodejs). The local recipe
// that works for both module systems: a node_modules beside the function's code that links to the
// layer's nodejs/node_modules.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

const layer = process.env.CLIENTS_TEST_LAYER;

function task(t) {
  assert.ok(layer, 'the harness sets CLIENTS_TEST_LAYER to the built layer: go test ./clients/');
  assert.ok(fs.existsSync(path.join(layer, 'nodejs', 'node_modules', 'breakerbox', 'package.json')), `no nodejs/node_modules/breakerbox in the layer at ${layer}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-task-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dir, 'index.mjs'),
    `import bb, { Breakerbox, FakeExtension, middleware, CircuitOpenError } from 'breakerbox';
const fake = new FakeExtension();
fake.forceOpen('inventory');
const restore = fake.install();
const guard = middleware({ circuit: 'inventory', fallback: (event, err) => ({ status: 'PENDING', state: err.decision.state }) });
const request = { event: {}, context: {} };
const res = await guard.before(request);
restore();
console.log(JSON.stringify({ res, same: bb.Breakerbox === Breakerbox, openError: typeof CircuitOpenError, from: import.meta.resolve('breakerbox') }));
`,
  );
  fs.writeFileSync(path.join(dir, 'index.cjs'), "const { Breakerbox } = require('breakerbox');\nconsole.log(typeof Breakerbox, require.resolve('breakerbox'));\n");
  return dir;
}

const envWithout = (extra) => {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
};

test('NODE_PATH alone does not reach an ES module: why the recipe exists', (t) => {
  const dir = task(t);
  const r = spawnSync(process.execPath, [path.join(dir, 'index.mjs')], { env: envWithout({ NODE_PATH: path.join(layer, 'nodejs', 'node_modules') }) });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.toString(), /ERR_MODULE_NOT_FOUND|Cannot find package 'breakerbox'/);
});

test('with node_modules linked to the layer, the ES module imports breakerbox from it, and CommonJS too', (t) => {
  const dir = task(t);
  fs.symlinkSync(path.join(layer, 'nodejs', 'node_modules'), path.join(dir, 'node_modules'));
  const out = JSON.parse(execFileSync(process.execPath, [path.join(dir, 'index.mjs')], { env: envWithout({ NODE_PATH: '' }) }).toString());
  assert.deepEqual(out.res, { status: 'PENDING', state: 'OPEN' }, 'the double forced OPEN: the fallback is the response');
  assert.equal(out.same, true);
  assert.equal(out.openError, 'function');
  const real = fs.realpathSync(path.join(layer, 'nodejs', 'node_modules', 'breakerbox'));
  assert.ok(fs.realpathSync(new URL(out.from)).startsWith(real), `breakerbox resolved to ${out.from}, not the layer's ${real}`);
  const cjs = execFileSync(process.execPath, [path.join(dir, 'index.cjs')], { env: envWithout({ NODE_PATH: '' }) }).toString().trim().split(' ');
  assert.equal(cjs[0], 'function');
  assert.ok(fs.realpathSync(cjs[1]).startsWith(real), `CommonJS resolved ${cjs[1]}`);
});
