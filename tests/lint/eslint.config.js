// eslint for the portal (web/*.js): the recommended rules, browser globals, ES modules.
// Run from the repository's root: tests/lint/node_modules/.bin/eslint -c tests/lint/eslint.config.js web
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["web/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
    rules: {
      "no-unused-vars": ["error", { args: "after-used" }],
      eqeqeq: "error",
      "no-implicit-globals": "error",
      "prefer-const": "error",
    },
  },
];
