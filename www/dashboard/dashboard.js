// The therapist's page: create a group once (the demo keeps its host token in localStorage), then
// the dashboard element runs polls for it. #group=...&token=... opens a given group instead: the
// token travels in the fragment, which browsers never send to a server nor put in a Referer, and
// it is taken out of the address bar (and so of the history) at once.
import "../node_modules/attune/poll.js";

const dashboard = document.getElementById("dashboard");
const info = document.getElementById("group-info");
const params = new URLSearchParams(location.hash.slice(1));
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const KEY = "attune-demo-group";

function open(group) {
  info.textContent = `Group “${group.name ?? group.id}” (id ${group.id}).`;
  dashboard.setAttribute("token", group.token);
  dashboard.setAttribute("group", group.id);
}

document.getElementById("new-group").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = document.getElementById("group-name").value.trim() || "Group";
  const res = await fetch("/api/groups", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  const body = await res.json();
  if (!res.ok) {
    info.textContent = `The group could not be created: ${body.error?.message ?? res.status}.`;
    return;
  }
  const group = { id: body.group.id, name: body.group.name, token: body.host_token };
  localStorage.setItem(KEY, JSON.stringify(group));
  open(group);
});

if (params.has("group") && params.has("token")) {
  open({ id: params.get("group"), token: params.get("token") });
} else {
  const saved = localStorage.getItem(KEY);
  if (saved) open(JSON.parse(saved));
}
