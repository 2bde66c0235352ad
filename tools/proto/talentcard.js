// The entry of the counter page's bundle (web/gen/talentcard.js): the generated messages and
// services it uses, the protobuf runtime, and the gRPC-Web client. Only what is exported here
// reaches the page; everything else is left out of the bundle.

export { create, fromBinary, toBinary } from '@bufbuild/protobuf';
export { Code, ConnectError, createClient } from '@connectrpc/connect';
export { createGrpcWebTransport } from '@connectrpc/connect-web';
export {
  Verification, VerifyCardRequestSchema, VerifyCardResponseSchema,
} from './gen/talentcard/v1/verification_pb.js';
export {
  Entitlements, RedeemServiceRequestSchema, RedeemServiceResponseSchema,
} from './gen/talentcard/v1/entitlements_pb.js';
export { EntitlementSchema } from './gen/talentcard/v1/common_pb.js';
// The offline bundle (and the JWKS its first one opens under) for the page's offline verdicts.
export { Federation } from './gen/talentcard/v1/federation_pb.js';
