// GET /customers/{customerId}, the Node.js peer of functions/get-customer: the same checks and
// the same answers (see README.md for where it differs). Module-level init, as a Node Lambda
// does it: configuration, the DynamoDB client and the token verifier are built once per cold
// start, before the first invocation; nothing is fetched until a request needs it.

import { BatchGetItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

import { ApiError, json, notFound, problem, upstream } from './problems.mjs';
import { TokenVerifier } from './tokens.mjs';

// ---- configuration (shared/src/config.rs) -------------------------------------------------

class ConfigError extends Error {
  name = 'Runtime.ConfigError';
}

const setting = (name) => {
  const value = process.env[name];
  return value !== undefined && value.trim() !== '' ? value : undefined;
};
const required = (name) => {
  const value = setting(name);
  if (value === undefined) throw new ConfigError(`environment variable ${name} is required but not set`);
  return value;
};

function baseUrl(name, value) {
  const trimmed = value.trim().replace(/\/+$/, '');
  const rest = trimmed.startsWith('https://') ? trimmed.slice(8) : trimmed.startsWith('http://') ? trimmed.slice(7) : undefined;
  if (rest === undefined) throw new ConfigError(`environment variable ${name} is malformed: must start with http:// or https://`);
  if (rest === '' || /\s/.test(rest)) throw new ConfigError(`environment variable ${name} is malformed: must name a host`);
  return trimmed;
}

const apiUrl = baseUrl('WORKOS_API_URL', setting('WORKOS_API_URL') ?? 'https://api.workos.com');
const extraIssuers = (setting('WORKOS_ISSUERS') ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const tableName = required('TABLE_NAME');
const clientId = required('WORKOS_CLIENT_ID');
// The Rust function needs the WorkOS API key at cold start (just-in-time provisioning); the peer
// never calls WorkOS's API, but refuses to start without it all the same.
if (setting('WORKOS_API_KEY') === undefined && setting('WORKOS_API_KEY_SECRET_ARN') === undefined) {
  throw new ConfigError('environment variable WORKOS_API_KEY is required but not set');
}
// How the items are read (a benchmark knob, not a Rust setting):
// - `get` (default): GetItem of the membership, then GetItem of the customer (and, for staff, of
//   the assignment, concurrently): the straightforward Node handler, as the Rust function was
//   before its reads were batched;
// - `batch`: the membership, the customer and the caller's assignment in one BatchGetItem, the
//   path parameter checked before the token, as shared/src/store/along.rs and the current
//   functions/get-customer do.
const reads = setting('NODE_PEER_READS') ?? 'batch';
if (reads !== 'get' && reads !== 'batch') {
  throw new ConfigError(`environment variable NODE_PEER_READS is malformed: must be get or batch, not ${reads}`);
}

// ---- clients ------------------------------------------------------------------------------

// Region from AWS_REGION, credentials from the environment (the default chain tries it first),
// endpoint from AWS_ENDPOINT_URL_DYNAMODB (the SDK's service-specific endpoint variable).
const dynamodb = new DynamoDBClient({});
const tokens = new TokenVerifier({ apiUrl, clientId, extraIssuers });

// ---- the store (shared/src/store) ---------------------------------------------------------

const orgPk = (orgId) => `ORG#${orgId}`;
const memberSk = (userId) => `USER#${userId}`;
const customerSk = (customerId) => `CUSTOMER#${customerId}`;
const assignmentSk = (customerId, userId) => `ASSIGN#${customerId}#${userId}`;

async function getItem(pk, sk) {
  let output;
  try {
    output = await dynamodb.send(
      new GetItemCommand({ TableName: tableName, Key: { PK: { S: pk }, SK: { S: sk } }, ConsistentRead: true }),
    );
  } catch (error) {
    throw upstream(`DynamoDB: ${error?.name ?? ''} ${error?.message ?? error}`);
  }
  return output.Item;
}

/** The items at `keys` (PK/SK pairs) by `SK`, in one BatchGetItem (consistent), unprocessed keys retried. */
async function batchGet(keys) {
  const found = new Map();
  let pending = { Keys: keys.map(([pk, sk]) => ({ PK: { S: pk }, SK: { S: sk } })), ConsistentRead: true };
  for (let round = 1; pending; round++) {
    let output;
    try {
      output = await dynamodb.send(new BatchGetItemCommand({ RequestItems: { [tableName]: pending } }));
    } catch (error) {
      throw upstream(`DynamoDB: ${error?.name ?? ''} ${error?.message ?? error}`);
    }
    for (const item of output.Responses?.[tableName] ?? []) {
      if (typeof item.PK?.S === 'string' && typeof item.SK?.S === 'string') found.set(`${item.PK.S}\u0000${item.SK.S}`, item);
    }
    const left = output.UnprocessedKeys?.[tableName];
    pending = left && left.Keys?.length ? left : undefined;
    if (pending) {
      if (round >= 5) throw upstream('BatchGetItem left keys unprocessed');
      await new Promise((resolve) => setTimeout(resolve, 25 << round));
    }
  }
  return (pk, sk) => found.get(`${pk}\u0000${sk}`);
}

/** A stored item that does not read as its type: the Rust store's StoreError::Corrupt (503). */
const corrupt = (what) => upstream(`corrupt item: ${what}`);

function str(item, name) {
  const value = item[name];
  if (!value || typeof value.S !== 'string') throw corrupt(`${name} is not a string`);
  return value.S;
}

function optStr(item, name) {
  const value = item[name];
  if (value === undefined || value.NULL === true) return null;
  if (typeof value.S !== 'string') throw corrupt(`${name} is not a string`);
  return value.S;
}

function bool(item, name) {
  const value = item[name];
  if (value === undefined) return false;
  if (typeof value.BOOL !== 'boolean') throw corrupt(`${name} is not a boolean`);
  return value.BOOL;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A stored time as the Rust Timestamp shows it: UTC, exactly three fraction digits. */
function timestamp(item, name) {
  const text = str(item, name).trim();
  const match = RFC3339.exec(text);
  const fraction = match?.[7] ? match[7].slice(0, 4).padEnd(4, '0') : '.000';
  const at = match && Date.parse(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${fraction}${match[8].toUpperCase()}`);
  if (!match || Number.isNaN(at)) throw corrupt(`${name} is not an RFC 3339 time`);
  const date = new Date(at);
  if (date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) throw corrupt(`${name} is out of range`);
  return date.toISOString();
}

const ROLES = new Set(['admin', 'staff', 'client']);

/** The member item (shared/src/store/members.rs), the fields this route uses. */
function member(item) {
  for (const name of ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'entity', 'membershipId', 'email', 'revision']) str(item, name);
  for (const name of ['createdAt', 'updatedAt', 'workosUpdatedAt']) timestamp(item, name);
  optStr(item, 'firstName');
  optStr(item, 'lastName');
  const role = str(item, 'role');
  if (!ROLES.has(role)) throw corrupt(`unknown role ${role}`);
  return { orgId: str(item, 'orgId'), userId: str(item, 'userId'), role, customerId: optStr(item, 'customerId') };
}

/** The customer item (shared/src/store/customers.rs) as CustomerView (shared/src/api/views.rs). */
function customerView(item) {
  for (const name of ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'entity', 'orgId']) str(item, name);
  if (item.clientCount !== undefined && typeof item.clientCount.N !== 'string') throw corrupt('clientCount is not a number');
  return {
    id: str(item, 'id'),
    name: str(item, 'name'),
    email: optStr(item, 'email'),
    phone: optStr(item, 'phone'),
    notes: optStr(item, 'notes'),
    createdAt: timestamp(item, 'createdAt'),
    updatedAt: timestamp(item, 'updatedAt'),
    createdBy: str(item, 'createdBy'),
  };
}

/** A live customer item (one being deleted counts as absent), as its view. */
function liveCustomer(item) {
  if (!item) return undefined;
  const view = customerView(item);
  return bool(item, 'deleting') ? undefined : view;
}

const getCustomer = async (orgId, customerId) => liveCustomer(await getItem(orgPk(orgId), customerSk(customerId)));

// ---- the flow (shared/src/flows) ----------------------------------------------------------

const selectedOrg = (auth) => {
  if (!auth.orgId) throw new ApiError('no_organization', 'the token selects no organization');
  return auth.orgId;
};

/** The caller's member item, or the 403 (the peer does no just-in-time provisioning). */
function memberOrRefusal(item) {
  if (!item) throw new ApiError('no_organization', 'you are not an active member of the selected organization');
  return member(item);
}

/** The caller's stored membership in the token's organization. */
const caller = async (auth) => memberOrRefusal(await getItem(orgPk(selectedOrg(auth)), memberSk(auth.userId)));

/** `customerId` of the path: `cus_` and 1–64 ASCII letters or digits, else 404. */
function customerIdOf(event) {
  const id = event.pathParameters?.customerId;
  if (typeof id !== 'string' || !/^cus_[A-Za-z0-9]{1,64}$/.test(id)) throw notFound();
  return id;
}

/** Who may see which customer (shared/src/domain/access.rs): granted, ifAssigned or denied. */
function access(who, customerId) {
  if (who.role === 'admin' || (who.role === 'client' && who.customerId === customerId)) return 'granted';
  return who.role === 'staff' ? 'ifAssigned' : 'denied';
}

/** `batch` reads: the membership, the customer and the caller's assignment in one request. */
async function visibleAlong(auth, customerId) {
  const pk = orgPk(selectedOrg(auth));
  const found = await batchGet([
    [pk, memberSk(auth.userId)],
    [pk, customerSk(customerId)],
    [pk, assignmentSk(customerId, auth.userId)],
  ]);
  const who = memberOrRefusal(found(pk, memberSk(auth.userId)));
  const decision = access(who, customerId);
  let customer;
  if (decision === 'granted') customer = liveCustomer(found(pk, customerSk(customerId)));
  else if (decision === 'ifAssigned') {
    const assigned = Boolean(found(pk, assignmentSk(customerId, auth.userId)));
    const live = liveCustomer(found(pk, customerSk(customerId)));
    customer = assigned ? live : undefined;
  }
  if (!customer) throw notFound();
  return customer;
}

/** Any customer for an admin, an assigned one for staff, their own for a client; else 404. */
async function visibleCustomer(who, customerId) {
  let customer;
  const decision = access(who, customerId);
  if (decision === 'granted') {
    customer = await getCustomer(who.orgId, customerId);
  } else if (decision === 'ifAssigned') {
    // The assignment and the customer are read together: one round trip, not two.
    const [assignment, found] = await Promise.all([
      getItem(orgPk(who.orgId), assignmentSk(customerId, who.userId)),
      getCustomer(who.orgId, customerId),
    ]);
    customer = assignment ? found : undefined;
  }
  if (!customer) throw notFound();
  return customer;
}

export async function handler(event) {
  const started = performance.now();
  let response;
  try {
    let customer;
    if (reads === 'batch') {
      const customerId = customerIdOf(event);
      customer = await visibleAlong(await tokens.authenticate(event?.headers), customerId);
    } else {
      const who = await caller(await tokens.authenticate(event?.headers));
      customer = await visibleCustomer(who, customerIdOf(event));
    }
    response = json(200, customer);
  } catch (error) {
    const known = error instanceof ApiError ? error : upstream(String(error?.stack ?? error));
    if (known.status >= 500) {
      console.error(JSON.stringify({ level: 'ERROR', status: known.status, cause: known.cause_, message: 'upstream failure' }));
    }
    response = problem(known);
  }
  console.log(
    JSON.stringify({
      level: 'INFO',
      message: response.statusCode < 400 ? 'answered' : 'refused',
      status: response.statusCode,
      requestId: event?.requestContext?.requestId,
      ms: Math.round((performance.now() - started) * 1000) / 1000,
    }),
  );
  return response;
}
