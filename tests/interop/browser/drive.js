// Drives headless Chromium (Debian's /usr/bin/chromium) with playwright-core for the Python
// tests: one JSON command per line on stdin, one JSON answer per line on stdout.
//   {"command": "register", "page": URL, "socket": WS_URL, "uri": SIP_URI, "password": P}
//     -> {"page": N, "result": {...}} or {"error": "..."}
//   {"command": "open", "page": URL, "viewport": {"width": W, "height": H}?} -> {"page": N}
//   {"command": "invoke", "page": N, "function": NAME, "args": [...]} -> {"result": ...}
//     (awaits window[NAME](...args) in the page)
//   {"command": "click", "page": N, "selector": CSS} -> {"clicked": N}
//   {"command": "fill", "page": N, "selector": CSS, "value": TEXT} -> {"filled": N}
//   {"command": "select", "page": N, "selector": CSS, "value": V} -> {"selected": N}
//   {"command": "uncheck", "page": N, "selector": CSS} -> {"unchecked": N}
//     (as a user types, picks and clicks: playwright waits for the element to be usable)
//   {"command": "inject", "page": N, "path": FILE} -> {"injected": N} (a <script> of FILE)
//   {"command": "evaluate", "page": N, "expression": JS} -> {"result": ...} (awaited)
//   {"command": "screenshot", "page": N, "path": PNG} -> {"screenshot": PNG}
//   {"command": "close", "page": N} -> {"closed": N}
// CHROMIUM_EXTRA_ARGUMENTS (JSON list) adds switches, e.g. the fake microphone's file.
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
    args: [...CHROMIUM_ARGUMENTS, ...JSON.parse(process.env.CHROMIUM_EXTRA_ARGUMENTS || "[]")],
  });
  const pages = [];
  const answer = (value) => process.stdout.write(JSON.stringify(value) + "\n");
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const command = JSON.parse(line);
    try {
      if (command.command === "open") {
        pages.push(await openPage(browser, command.page, command.viewport));
        answer({ page: pages.length - 1 });
      } else if (command.command === "invoke") {
        const result = await pages[command.page].evaluate(
          ([name, args]) => window[name](...args),
          [command.function, command.args || []],
        );
        answer({ result: result === undefined ? null : result });
      } else if (command.command === "click") {
        await pages[command.page].click(command.selector);
        answer({ clicked: command.page });
      } else if (command.command === "fill") {
        await pages[command.page].fill(command.selector, command.value);
        answer({ filled: command.page });
      } else if (command.command === "select") {
        await pages[command.page].selectOption(command.selector, command.value);
        answer({ selected: command.page });
      } else if (command.command === "uncheck") {
        await pages[command.page].uncheck(command.selector);
        answer({ unchecked: command.page });
      } else if (command.command === "inject") {
        await pages[command.page].addScriptTag({ path: command.path });
        answer({ injected: command.page });
      } else if (command.command === "evaluate") {
        const result = await pages[command.page].evaluate(command.expression);
        answer({ result: result === undefined ? null : result });
      } else if (command.command === "screenshot") {
        await pages[command.page].screenshot({ path: command.path, fullPage: true });
        answer({ screenshot: command.path });
      } else if (command.command === "register") {
        const page = await openPage(browser, command.page);
        pages.push(page);
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

async function openPage(browser, url, viewport = null) {
  const page = await browser.newPage(viewport ? { viewport } : {});
  page.on("console", (message) => process.stderr.write(`page: ${message.text()}\n`));
  await page.goto(url);
  return page;
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
