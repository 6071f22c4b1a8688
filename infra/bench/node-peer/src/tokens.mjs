// WorkOS access token verification, the rules of shared/src/clients/tokens.rs: RS256 only, keys
// from the JWKS cached across warm invocations (refetched at most once a minute, for an unknown
// kid), issuer allow-list, `aud` when present, `exp` required, 30 s leeway on exp/nbf/iat.

import { compactVerify, importJWK } from 'jose';

import { unauthenticated, upstream } from './problems.mjs';

export const LEEWAY_SECONDS = 30;
export const MIN_REFETCH_INTERVAL_MS = 60_000;
export const MAX_TOKEN_BYTES = 16 * 1024;
const JWKS_TIMEOUT_MS = 6_000;

const B64URL = /^[A-Za-z0-9_-]*$/;

function b64urlJson(part) {
  if (!B64URL.test(part) || part.length % 4 === 1) throw new Error('not base64url');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

const isU64 = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isOptString = (v) => v === undefined || v === null || typeof v === 'string';

/** The `kid` of a token's header, if the token can be verified at all. */
export function signingKeyId(token) {
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw unauthenticated('the token is too long');
  // jsonwebtoken takes the header from before the second-last dot; a header holding a dot is
  // not base64url, so anything but three parts is malformed.
  const parts = token.split('.');
  let header;
  try {
    if (parts.length !== 3) throw new Error('parts');
    header = b64urlJson(parts[0]);
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error('header');
    if (typeof header.alg !== 'string' || !isOptString(header.kid) || !isOptString(header.typ)) throw new Error('fields');
  } catch {
    throw unauthenticated('the token is malformed');
  }
  if (header.alg !== 'RS256') {
    // An alg jsonwebtoken does not know (e.g. "none") does not parse at all.
    const known = ['HS256', 'HS384', 'HS512', 'ES256', 'ES384', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];
    throw unauthenticated(known.includes(header.alg) ? 'the token must be signed with RS256' : 'the token is malformed');
  }
  if (typeof header.kid !== 'string') throw unauthenticated('the token names no signing key');
  return header.kid;
}

export class TokenVerifier {
  constructor({ apiUrl, clientId, extraIssuers }) {
    this.jwksUrl = `${apiUrl}/sso/jwks/${clientId}`;
    this.clientId = clientId;
    this.issuers = [apiUrl, `${apiUrl}/user_management/${clientId}`, ...extraIssuers.map((i) => i.replace(/\/+$/, ''))];
    this.keys = new Map();
    this.fetchedAt = undefined;
    this.fetchFailed = false;
    this.fetching = undefined; // one fetch at a time
  }

  /** The caller of an API Gateway v2 event: `{userId, orgId, sessionId}`. */
  async authenticate(headers) {
    const header = headerOf(headers, 'authorization');
    if (header === undefined) throw unauthenticated('an Authorization: Bearer token is required');
    // http::HeaderValue::to_str accepts visible ASCII, space and tab only.
    if (!/^[\t\x20-\x7e]*$/.test(header)) throw unauthenticated('the Authorization header is malformed');
    const space = header.indexOf(' ');
    const scheme = space < 0 ? '' : header.slice(0, space);
    const token = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme.toLowerCase() !== 'bearer' || token === '') {
      throw unauthenticated('the Authorization header must use the Bearer scheme');
    }
    return this.verify(token);
  }

  async verify(token) {
    const kid = signingKeyId(token);
    const key = await this.key(kid);
    if (!key) throw unauthenticated("the token's signing key is unknown");

    let payload;
    try {
      ({ payload } = await compactVerify(token, key, { algorithms: ['RS256'] }));
    } catch (error) {
      if (error?.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw unauthenticated("the token's signature is invalid");
      throw unauthenticated('the token is invalid');
    }
    let claims;
    try {
      claims = JSON.parse(Buffer.from(payload).toString('utf8'));
    } catch {
      throw unauthenticated('the token is invalid');
    }
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw unauthenticated('the token is invalid');

    // jsonwebtoken's Validation: exp, sub and iss required; exp and nbf checked with the leeway.
    const { exp, nbf, sub, iss } = claims;
    if (exp !== undefined && !isU64(exp)) throw unauthenticated('the token is invalid');
    if (nbf !== undefined && !isU64(nbf)) throw unauthenticated('the token is invalid');
    if (exp === undefined || typeof sub !== 'string' || !(typeof iss === 'string' || Array.isArray(iss))) {
      throw unauthenticated('the token is invalid');
    }
    const now = Math.floor(Date.now() / 1000);
    if (Math.round(exp) < now - LEEWAY_SECONDS) throw unauthenticated('the token has expired');
    if (nbf !== undefined && Math.round(nbf) > now + LEEWAY_SECONDS) throw unauthenticated('the token is not valid yet');
    return this.checkClaims(claims, now);
  }

  /** What the verified claims must say beyond the signature and the times. */
  checkClaims(claims, now) {
    const { sub, iss, aud, sid, org_id: orgId, iat } = claims;
    if (typeof iss !== 'string' || !isOptString(sid) || !isOptString(orgId)) throw unauthenticated('the token is invalid');
    if (iat !== undefined && iat !== null && !(Number.isInteger(iat) && iat >= 0)) throw unauthenticated('the token is invalid');
    if (!this.issuers.includes(iss.replace(/\/+$/, ''))) throw unauthenticated("the token's issuer is not trusted");
    if (aud !== undefined && aud !== null) {
      const matches = typeof aud === 'string' ? aud === this.clientId : Array.isArray(aud) && aud.includes(this.clientId);
      if (!matches) throw unauthenticated("the token's audience is not this application");
    }
    if (sub === '') throw unauthenticated('the token names no user');
    if (typeof iat === 'number' && iat > now + LEEWAY_SECONDS) throw unauthenticated('the token claims to be issued in the future');
    return { userId: sub, orgId: orgId || undefined, sessionId: sid ?? undefined };
  }

  /** The key for `kid`: cached, else from one JWKS fetch if none was tried within the interval. */
  async key(kid) {
    if (this.keys.has(kid)) return this.keys.get(kid);
    while (this.fetching) await this.fetching;
    if (this.keys.has(kid)) return this.keys.get(kid);
    if (this.fetchedAt !== undefined && Date.now() - this.fetchedAt < MIN_REFETCH_INTERVAL_MS) {
      if (this.fetchFailed && this.keys.size === 0) throw upstream('the JWKS is unreachable and no key is cached');
      return undefined;
    }
    this.fetching = this.refresh().finally(() => {
      this.fetching = undefined;
    });
    await this.fetching;
    if (this.fetchFailed && this.keys.size === 0) throw upstream('JWKS fetch failed');
    return this.keys.get(kid);
  }

  async refresh() {
    try {
      const keys = await this.fetchJwks();
      this.keys = keys;
      this.fetchFailed = false;
    } catch (error) {
      // Keep serving the keys we had.
      console.error(JSON.stringify({ level: 'ERROR', message: 'JWKS fetch failed', error: String(error?.message ?? error) }));
      this.fetchFailed = true;
    }
    this.fetchedAt = Date.now();
  }

  async fetchJwks() {
    const response = await fetch(this.jwksUrl, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
    const set = await response.json();
    if (!set || !Array.isArray(set.keys)) throw new Error('the JWKS has no keys array');
    const keys = new Map();
    for (const jwk of set.keys) {
      if (jwk?.kty !== 'RSA' || typeof jwk.kid !== 'string') continue;
      try {
        keys.set(jwk.kid, await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256'));
      } catch {
        // a key that does not import is skipped, as DecodingKey::from_jwk failures are
      }
    }
    return keys;
  }
}

/** A header of an API Gateway v2 event (lower-cased there, but looked up case-insensitively). */
export function headerOf(headers, name) {
  if (!headers) return undefined;
  if (headers[name] !== undefined) return headers[name];
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}
