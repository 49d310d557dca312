// Baseline server for the HTTP bench: bare uWebSockets.js answering a fixed JSON body on every route.
import uWS from 'uWebSockets.js';

const BODY = '{"passed":true,"missing_permissions":[]}';

uWS
  .App()
  .any('/*', (res) => {
    res.onData(() => {}); // accept and ignore request bodies, like the real server reads them
    res.cork(() => {
      res.writeStatus('200 OK');
      res.writeHeader('content-type', 'application/json');
      res.end(BODY);
    });
  })
  .listen('127.0.0.1', 0, (socket) => {
    if (!socket) process.exit(1);
    console.log(JSON.stringify({ msg: 'listening', http_port: uWS.us_socket_local_port(socket as unknown as uWS.us_socket) }));
  });
