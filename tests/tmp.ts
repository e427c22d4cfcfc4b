import * as fs from "fs";
import * as path from "path";

/**
 * Where test folders of sample objects go: inside the project, visible and not git-ignored, as the
 * objects rule requires. One folder per test process (mocha runs two side by side), removed when
 * that process exits, with the shared parent once it is empty.
 */
const BASE = path.resolve(__dirname, "tmp-objects");
const OWN = path.join(BASE, `p${process.pid}`);

let cleanupRegistered = false;

/** A fresh folder inside the project; all of this process's are removed when it exits. */
export function projectTmpDir(prefix: string): string {
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once("exit", () => {
      fs.rmSync(OWN, { recursive: true, force: true });
      try {
        fs.rmdirSync(BASE);
      } catch {
        // Another test process still has its folder there, or it is gone already.
      }
    });
  }
  fs.mkdirSync(OWN, { recursive: true });
  return fs.mkdtempSync(path.join(OWN, prefix));
}
