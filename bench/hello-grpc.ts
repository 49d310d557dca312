// Baseline server for the gRPC bench: bare grpc-js serving permio.v1.PermissionsService/Check with a fixed answer.
// Same proto definition as Permio (so the load generator sends the same bytes to the same method), no auth, no work.
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { serviceDefinition } from '../src/api/grpc/proto.js';

const ANSWER = { passed: true, missing_permissions: [] };

const server = new Server();
server.addService(
  { Check: serviceDefinition('PermissionsService').Check! },
  { Check: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(null, ANSWER) },
);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(JSON.stringify({ msg: 'listening', grpc_port: port }));
});
