// Preloaded into the service process by test/outage.test.ts (`node --import tsx --import THIS src/server.ts`):
// on SIGUSR2 it throws, outside any promise, the error named by YUNSHEN_TEST_THROW, so the test can see which
// uncaught errors the process guard of src/server.ts survives and which still end the process.
//   driver     a TypeError whose top frame is postgres.js's connection.js (porsager/postgres#1154)
//   other      any other error, thrown the same way
//   rejection  a promise rejected with nobody to hear it
const kind = process.env.YUNSHEN_TEST_THROW;
if (kind)
  process.on("SIGUSR2", () => {
    if (kind === "driver") {
      const fault = new TypeError("Cannot read properties of null (reading 'write')");
      fault.stack = [
        "TypeError: Cannot read properties of null (reading 'write')",
        "    at Immediate.nextWrite (file:///srv/yunshen/node_modules/postgres/src/connection.js:255:22)",
        "    at process.processImmediate (node:internal/timers:483:21)",
      ].join("\n");
      setImmediate(() => {
        throw fault;
      });
    } else if (kind === "other") {
      setImmediate(() => {
        throw new TypeError("Cannot read properties of null (reading 'write') for 13807530012");
      });
    } else if (kind === "rejection") {
      void Promise.reject(new Error("rejected for 13807530012"));
    }
  });
