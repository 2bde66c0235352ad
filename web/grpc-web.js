// gRPC-Web over fetch, binary mode (application/grpc-web+proto): one request message, one
// response message, and the status from the trailer frame (or the headers when the server
// answered with trailers only).

import { decode, encode } from './proto.js';

/** A call that ended with a non-OK gRPC status (or never reached the gateway: code 14). */
export class GrpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export const Code = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5,
  ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9,
  ABORTED: 10, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
};

/** Splits a grpc-web response body into its message bytes and its trailers. */
export function unframe(body) {
  let message = null;
  const trailers = {};
  let pos = 0;
  while (pos + 5 <= body.length) {
    const flag = body[pos];
    const len = new DataView(body.buffer, body.byteOffset + pos + 1, 4).getUint32(0);
    const payload = body.subarray(pos + 5, pos + 5 + len);
    pos += 5 + len;
    if (flag & 0x80) {
      for (const line of new TextDecoder().decode(payload).split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
    } else {
      message = payload;
    }
  }
  return { message, trailers };
}

/** One length-prefixed, uncompressed gRPC frame around `bytes`. */
export function frame(bytes) {
  const out = new Uint8Array(5 + bytes.length);
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

function grpcMessage(raw) {
  try {
    return decodeURIComponent(raw || '');
  } catch {
    return raw || '';
  }
}

/** Calls `service/method` with `request` (by `reqSchema`); the decoded response or throws GrpcError. */
export async function unary(method, reqSchema, request, resSchema, token) {
  const headers = {
    'content-type': 'application/grpc-web+proto',
    accept: 'application/grpc-web+proto',
    'x-grpc-web': '1',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`/${method}`, {
      method: 'POST',
      headers,
      body: frame(encode(reqSchema, request)),
      cache: 'no-store',
    });
  } catch (e) {
    throw new GrpcError(Code.UNAVAILABLE, `network: ${e.message}`);
  }
  const body = new Uint8Array(await res.arrayBuffer());
  const { message, trailers } = unframe(body);
  const status = trailers['grpc-status'] ?? res.headers.get('grpc-status');
  const text = trailers['grpc-message'] ?? res.headers.get('grpc-message');
  if (status === null || status === undefined) {
    throw new GrpcError(Code.UNAVAILABLE, `HTTP ${res.status} without a gRPC status`);
  }
  if (Number(status) !== Code.OK) throw new GrpcError(Number(status), grpcMessage(text));
  return decode(resSchema, message ?? new Uint8Array());
}
