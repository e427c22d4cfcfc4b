import * as fs from "fs";
import * as path from "path";

/** Where test folders of sample objects go: inside the project, visible and not git-ignored, as the objects rule requires. */
const BASE = path.resolve(__dirname, "tmp-objects");

/** A fresh folder inside the project; all of them are removed when the test process exits. */
export function projectTmpDir(prefix: string): string {
  if (!fs.existsSync(BASE)) process.once("exit", () => fs.rmSync(BASE, { recursive: true, force: true }));
  fs.mkdirSync(BASE, { recursive: true });
  return fs.mkdtempSync(path.join(BASE, prefix));
}
