import { checkPage, expect, test } from "./fixtures";

test("an admin signs in, sees the role, and signs out", async ({ page, loginAs }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
  await checkPage(page, "login");
  await loginAs("admin");
  await expect(
    page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }),
  ).toBeVisible();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("status")).toHaveText("You logged out.");
});

test("a token that is not one is refused at the field", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Bearer token").fill("not-a-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("three parts");
});
