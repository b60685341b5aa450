// Drives headless Chromium (Debian's /usr/bin/chromium) with playwright-core for the Python
// tests: one JSON command per line on stdin, one JSON answer per line on stdout.
//   {"command": "register", "page": URL, "socket": WS_URL, "uri": SIP_URI, "password": P}
//     -> {"page": N, "result": {...}} or {"error": "..."}
//   {"command": "close", "page": N} -> {"closed": N}
const readline = require("node:readline");
const { chromium } = require("playwright-core");

const CHROMIUM_ARGUMENTS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  // wss to the server's self-signed certificate.
  "--ignore-certificate-errors",
];

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGUMENTS,
  });
  const pages = [];
  const answer = (value) => process.stdout.write(JSON.stringify(value) + "\n");
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const command = JSON.parse(line);
    try {
      if (command.command === "register") {
        const page = await browser.newPage();
        page.on("console", (message) => process.stderr.write(`page: ${message.text()}\n`));
        pages.push(page);
        await page.goto(command.page);
        const result = await page.evaluate(
          ([socket, uri, password]) => window.register(socket, uri, password),
          [command.socket, command.uri, command.password],
        );
        answer({ page: pages.length - 1, result });
      } else if (command.command === "close") {
        await pages[command.page].close();
        answer({ closed: command.page });
      } else {
        answer({ error: `unknown command ${command.command}` });
      }
    } catch (error) {
      answer({ error: String(error) });
    }
  }
  await browser.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
