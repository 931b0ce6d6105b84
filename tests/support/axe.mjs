// The accessibility check every Playwright spec runs: axe-core on the page as it stands, against
// WCAG 2.0/2.1/2.2 A and AA; `state` names the step in the failure message.
import { expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

const TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"];

export async function axe(page, state) {
  const { violations } = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  expect(violations.map((v) => `${state}: ${v.id} ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}
