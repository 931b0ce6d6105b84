// No bundler, no import map: the browser loads the installed package straight from its files.
import * as attune from "./node_modules/attune/index.js";
import { run } from "../page-check.js";

run(attune);
