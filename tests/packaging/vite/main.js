// The bundler resolves the bare specifier to the installed tarball and bundles its .wasm file.
import * as attune from "attune";
import { run } from "../page-check.js";

run(attune);
