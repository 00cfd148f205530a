// What a site's queue and the joint centre's queue show alike in an incident's item.
import { t } from "./i18n.js";

// No outcome is chosen for the operator: resolve waits for one, and an intrusion asks
// what became of the intruder.
export function chooseOutcome(li) {
  const outcome = li.querySelector(".outcome")?.value ?? "";
  const resolve = li.querySelector('[data-action="resolve"]');
  if (resolve) resolve.disabled = outcome === "";
  const disruption = li.querySelector(".disruption");
  if (disruption) disruption.hidden = outcome !== "intrusion";
}

// The intelligence items linked to the incident (docs/protocol.md §9), by title where
// the page knows it: why its priority was raised.
export function showIntelLinks(li, links, titles) {
  let intel = li.querySelector(".intel-links");
  if (links.length && !intel) {
    intel = document.createElement("div");
    intel.className = "intel-links";
    li.querySelector(".what").after(intel);
  }
  if (!intel) return;
  intel.hidden = !links.length;
  intel.dataset.intelLinks = links.join(" ");
  intel.textContent = links.length ? `${t("intel_linked")}: ${titles.join("; ")}` : "";
}
