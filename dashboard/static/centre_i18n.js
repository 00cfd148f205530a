// The joint centre's strings, in English and French, added to the page catalogue of
// i18n.js (kept in their own module so that the site page's catalogue stays as it is).
import { CATALOGUE } from "./i18n.js";

Object.assign(CATALOGUE.en, {
  centre_title: "Vigie — joint centre",
  joint_queue: "Joint queue",
  link_up: "link up",
  link_lost: "link lost",
  as_of: "as of",
  never_heard: "never heard from",
  catching_up: "catching up",
  state_unknown: "unknown",
  desk: "desk",
  watch_only: "watch only",
  sent_to_site: "Sent to the site, awaiting its answer…",
  done_by_site: "Done by the site.",
  refused_by_site: "Refused by the site:",
  faults_count: "faulty devices:",
  no_sites: "This desk sees no site.",
});

Object.assign(CATALOGUE.fr, {
  centre_title: "Vigie — centre conjoint",
  joint_queue: "File commune",
  link_up: "liaison établie",
  link_lost: "liaison perdue",
  as_of: "état à",
  never_heard: "jamais reçu",
  catching_up: "rattrapage",
  state_unknown: "inconnu",
  desk: "bureau",
  watch_only: "consultation seule",
  sent_to_site: "Transmis au site, en attente de sa réponse…",
  done_by_site: "Fait par le site.",
  refused_by_site: "Refusé par le site :",
  faults_count: "équipements en défaut :",
  no_sites: "Ce bureau ne voit aucun site.",
});
