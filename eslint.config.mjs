// ESLint flat config, at the root where editors find it.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import importX, { createNodeResolver } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "bin/**", ".pulumi-state/**", ".tmp/**", ".ci/**", "eslint.config.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: process.cwd() } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-floating-promises": "error",
      // Pulumi resources are declared for their side effect.
      "no-new": "off",
    },
  },
  {
    // Split by concept, not by count: a source file past this is doing two things. Specs hold tables.
    files: ["shared/**/*.ts", "source-account/**/*.ts", "target-account/**/*.ts"],
    rules: { "max-lines": ["error", { max: 400 }] },
  },
  {
    // Arrows point down only: no module may reach itself through its imports, lazy require()s included.
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json", ".node"] })],
    },
    rules: { "import-x/no-cycle": ["error", { commonjs: true, ignoreExternal: true }] },
  },
  {
    // What `pulumi up` loads ships with runtime dependencies only: never the AGPL simulator, the offline harness or the tools.
    files: ["shared/program/**/*.ts", "source-account/**/*.ts", "target-account/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@cloud-copilot/*"],
              message:
                "The program must not load the AGPL policy simulator: it is a devDependency for tests and tools.",
            },
            {
              group: ["**/offline", "**/offline/**"],
              message: "The offline harness is for development only; the program must not import it.",
            },
            {
              group: ["**/tools", "**/tools/**"],
              message: "The tools sit above the program; the program must not import them.",
            },
          ],
        },
      ],
    },
  },
  {
    // The program's library is the lowest floor: the sides use it, and only shared/main.ts stands above both.
    files: ["shared/program/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@cloud-copilot/*"], message: "The program must not load the AGPL policy simulator." },
            {
              group: ["**/offline", "**/offline/**", "**/tools", "**/tools/**"],
              message: "Development code sits above the program.",
            },
            {
              group: [
                "**/source-account",
                "**/source-account/**",
                "**/target-account",
                "**/target-account/**",
                "**/main",
              ],
              message:
                "The program's library must not import the sides that use it: shared/main.ts dispatches to them.",
            },
          ],
        },
      ],
    },
  },
  {
    // Plain CommonJS that node loads before tsx (shared/tools/cli/temp-folder.cjs): no types to check it with.
    files: ["**/*.cjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", process: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-require-imports": "off",
      "@pulumi/no-output-in-template-literal": "off",
      "@pulumi/no-output-instance-in-template-literal": "off",
    },
  },
);
