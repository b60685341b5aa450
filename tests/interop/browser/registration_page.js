// The test page's script: JsSIP registers one endpoint over the WebSocket it is given.
// Bundled by esbuild (make web); the page exposes register() for the test to call.
import JsSIP from "jssip";

window.register = (socketUrl, uri, password) =>
  new Promise((resolve, reject) => {
    const userAgent = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(socketUrl)],
      uri,
      password,
      register: true,
      register_expires: 600,
    });
    userAgent.on("registered", (event) =>
      resolve({
        status: event.response.status_code,
        via: event.response.getHeader("Via"),
        contact: userAgent.contact.toString(),
      }),
    );
    userAgent.on("registrationFailed", (event) =>
      reject(new Error(`registration failed: ${event.cause}`)),
    );
    userAgent.start();
    window.userAgent = userAgent;
  });
