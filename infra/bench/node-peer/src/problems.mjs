// Errors and responses as shared/src/error.rs and shared/src/api/http.rs make them:
// problem+json (RFC 9457) bodies with the same type, title, status, detail and code.

const KINDS = {
  unauthenticated: { status: 401, title: 'Unauthenticated' },
  no_organization: { status: 403, title: 'No organization' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  internal_error: { status: 500, title: 'Internal error' },
  upstream_unavailable: { status: 503, title: 'Upstream unavailable' },
};

/** Fixed details: the Rust variants whose inner text is logged, not sent. */
const FIXED_DETAIL = {
  not_found: 'not found',
  internal_error: 'the service is misconfigured; its operators can see why in its logs',
  upstream_unavailable: 'an upstream service is unavailable',
};

export class ApiError extends Error {
  /** `code` is one of KINDS; `detail` the client-facing text (or, for fixed kinds, the logged cause). */
  constructor(code, detail = '') {
    super(FIXED_DETAIL[code] ?? detail);
    this.code = code;
    this.cause_ = detail;
  }

  get status() {
    return KINDS[this.code].status;
  }

  problem() {
    return {
      type: `https://errors.api.example/${this.code}`,
      title: KINDS[this.code].title,
      status: this.status,
      detail: this.message,
      code: this.code,
    };
  }
}

export const unauthenticated = (reason) => new ApiError('unauthenticated', reason);
export const notFound = () => new ApiError('not_found');
export const upstream = (cause) => new ApiError('upstream_unavailable', cause);

/** An API Gateway HTTP API (payload 2.0) response with a JSON body. */
export function json(statusCode, body, contentType = 'application/json', extraHeaders = {}) {
  return {
    statusCode,
    headers: { 'content-type': contentType, ...extraHeaders },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** The problem+json response of an error (401s carry WWW-Authenticate, as in Rust). */
export function problem(error) {
  const extra = error.code === 'unauthenticated' ? { 'www-authenticate': 'Bearer error="invalid_token"' } : {};
  return json(error.status, error.problem(), 'application/problem+json', extra);
}
