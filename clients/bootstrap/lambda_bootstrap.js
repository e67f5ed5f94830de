'use strict';
// A minimal Lambda runtime for Node.js, standard library only, for local runs and tests.
//
// On AWS the nodejs runtimes run the handler themselves; here (no npm, so no
// aws-lambda-ric) this loop plays their part under internal/lambdaenv or cmd/lambdaenv:
//
//   lambdaenv -extensions DIR -- node clients/bootstrap/lambda_bootstrap.js index.handler
//
// The handler is argv[2] or _HANDLER ("file.export"), loaded from LAMBDA_TASK_ROOT (default: the
// working directory) as file.js, file.cjs (require) or file.mjs (import). It follows the Lambda
// Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): GET
// .../invocation/next without a client timeout, POST .../response or .../error per event, and POST
// /runtime/init/error when the handler cannot be loaded
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html).

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const API = '2018-06-01';

function request(method, url, body, headers, timeoutMs) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body === undefined ? null : body));
    const opts = { method, headers: { ...(headers || {}) } };
    if (data) {
      opts.headers['Content-Type'] = 'application/json';
      opts.headers['Content-Length'] = String(data.length);
    }
    // No timeout on /invocation/next: it blocks until the next event. The other calls answer at once.
    if (timeoutMs) opts.signal = AbortSignal.timeout(timeoutMs);
    const req = http.request(url, opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function errorDoc(err) {
  return {
    errorMessage: (err && err.message) || String(err),
    errorType: (err && err.name) || 'Error',
    stackTrace: String((err && err.stack) || '').split('\n'),
  };
}

async function load(spec) {
  const dot = spec.lastIndexOf('.');
  if (dot <= 0 || dot === spec.length - 1) throw new Error(`handler ${JSON.stringify(spec)}: want file.export, e.g. index.handler`);
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const base = path.join(root, spec.slice(0, dot));
  const name = spec.slice(dot + 1);
  let mod;
  if (fs.existsSync(base + '.mjs')) mod = await import(pathToFileURL(base + '.mjs').href);
  else if (fs.existsSync(base + '.cjs')) mod = require(base + '.cjs');
  else mod = require(base + '.js');
  const fn = mod[name] ?? (mod.default && mod.default[name]);
  if (typeof fn !== 'function') throw new Error(`handler ${JSON.stringify(spec)}: ${name} is not a function of ${base}`);
  return fn;
}

async function main() {
  const base = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/${API}/runtime`;
  const spec = process.argv[2] || process.env._HANDLER || '';
  let handler;
  try {
    handler = await load(spec);
  } catch (err) {
    await request('POST', `${base}/init/error`, errorDoc(err), { 'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError' }, 30000);
    process.exit(1);
  }
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME || 'function';
  for (;;) {
    const next = await request('GET', `${base}/invocation/next`);
    const id = next.headers['lambda-runtime-aws-request-id'];
    const deadline = Number(next.headers['lambda-runtime-deadline-ms'] || 0);
    const context = { awsRequestId: id, functionName, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
    let result;
    try {
      result = await handler(next.body ? JSON.parse(next.body) : null, context);
    } catch (err) {
      await request('POST', `${base}/invocation/${id}/error`, errorDoc(err), { 'Lambda-Runtime-Function-Error-Type': 'Unhandled' }, 30000);
      continue;
    }
    await request('POST', `${base}/invocation/${id}/response`, result === undefined ? null : result, {}, 30000);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
