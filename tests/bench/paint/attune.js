// The two-line embed a clinic writes, loading the packed package installed in the static fixture.
import "../../packaging/static/node_modules/attune/elements.js";
