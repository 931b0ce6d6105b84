import { chromium } from "@playwright/test";
const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--headless", "--disable-gpu"] });
for (const w of [1280, 320]) {
const p = await b.newPage({ viewport: { width: w, height: 900 } });
p.on("console", (m) => console.log("console", m.type(), m.text()));
p.on("pageerror", (e) => console.log("pageerror", e));
await p.goto("http://127.0.0.1:8788/?instrument=phq9");
const radios = p.locator("attune-questionnaire input[type=radio]");
await radios.first().waitFor();
console.log(w, "radios", await radios.count());
await radios.first().focus();
await p.keyboard.press("ArrowDown");
await p.keyboard.press("Enter");
await p.waitForTimeout(300);
console.log(await p.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.outerHTML));
await p.screenshot({ path: `/tmp/shot${w}.png`, fullPage: true });
console.log(await p.locator("#events").innerText());
}
await b.close();
