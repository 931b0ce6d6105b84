// The member's page: the code comes from the QR code's link (?code=...) or is typed in.
import "../node_modules/attune/poll.js";

const code = new URLSearchParams(location.search).get("code");
if (code) document.getElementById("join").setAttribute("code", code);
