import * as fs from "fs";
import * as path from "path";

/** A fresh folder inside the project (git-ignored .tmp/): sample objects must live inside the project. */
export function projectTmpDir(prefix: string): string {
  const base = path.resolve(__dirname, "..", ".tmp");
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, prefix));
}
