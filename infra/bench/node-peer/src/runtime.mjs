// A minimal Lambda Runtime API client (the custom-runtime protocol), standing in for the Node.js
// runtime that Lambda would provide: GET .../invocation/next, call the handler, POST
// .../invocation/{id}/response (or .../error). One keep-alive connection to the Runtime API.

import http from 'node:http';

const API = '/2018-06-01/runtime';

const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API ?? '').split(':');
// Loopback, one request at a time: one socket, kept open, Nagle off.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1, noDelay: true });

function request(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port: Number(port || 80),
        method,
        path: API + path,
        agent,
        headers: body === undefined ? headers : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // Headers and body in one write.
    req.end(body);
  });
}

function errorBody(error) {
  return JSON.stringify({
    errorMessage: String(error?.message ?? error),
    errorType: error?.name ?? 'Error',
    stackTrace: typeof error?.stack === 'string' ? error.stack.split('\n') : [],
  });
}

/** Tells the Runtime API that the cold start failed (the function's configuration, usually). */
export async function reportInitError(error, errorType = 'Runtime.ConfigError') {
  console.error(JSON.stringify({ level: 'ERROR', message: 'the cold start failed', error: String(error?.message ?? error) }));
  if (!host) return;
  try {
    await request('POST', '/init/error', errorBody(error), { 'lambda-runtime-function-error-type': errorType });
  } catch (sent) {
    console.error(JSON.stringify({ level: 'ERROR', message: 'could not report the failed cold start', error: String(sent) }));
  }
}

/** Serves invocations forever: `handler` is `async (event, context) => response`. */
export async function run(handler) {
  if (!host) throw new Error('AWS_LAMBDA_RUNTIME_API is not set');
  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) throw new Error(`the Runtime API answered /next with ${next.status}`);
    const requestId = next.headers['lambda-runtime-aws-request-id'];
    const trace = next.headers['lambda-runtime-trace-id'];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else delete process.env._X_AMZN_TRACE_ID;
    const context = {
      awsRequestId: requestId,
      invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
      deadlineMs: Number(next.headers['lambda-runtime-deadline-ms']),
      getRemainingTimeInMillis() {
        return this.deadlineMs - Date.now();
      },
    };
    let response;
    try {
      const result = await handler(JSON.parse(next.body), context);
      response = await request('POST', `/invocation/${requestId}/response`, JSON.stringify(result ?? null));
    } catch (error) {
      console.error(JSON.stringify({ level: 'ERROR', requestId, message: 'the invocation failed', error: String(error?.stack ?? error) }));
      response = await request('POST', `/invocation/${requestId}/error`, errorBody(error), {
        'lambda-runtime-function-error-type': 'Runtime.HandlerError',
      });
    }
    if (response.status !== 202) throw new Error(`the Runtime API answered the result with ${response.status}`);
  }
}
