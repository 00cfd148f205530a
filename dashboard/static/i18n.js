// Every string the page shows, in English and French. Nothing else is hard-wired.
export const CATALOGUE = {
  en: {
    title: "Vigie — tactical picture",
    login_title: "Sign in to Vigie",
    username: "User name",
    token: "Access token",
    sign_in: "Sign in",
    sign_out: "Sign out",
    login_failed: "Unknown user or wrong token.",
    live: "Live",
    reconnecting: "Reconnecting…",
    site_plan: "Site plan",
    incidents: "Incidents",
    no_incidents: "No open incident.",
    faults: "Faults",
    no_faults: "All devices healthy.",
    recently_resolved: "Recently resolved",
    state_secure: "secure",
    state_alarm: "alarm",
    state_confirmed: "confirmed",
    state_degraded: "degraded",
    incident_open: "open",
    incident_acknowledged: "acknowledged",
    incident_resolved: "resolved",
    priority: "Priority",
    zones: "Zones",
    modalities: "Detected by",
    age: "Age",
    ack: "Acknowledge",
    resolve: "Resolve",
    comment: "Comment",
    outcome: "Outcome",
    outcome_intrusion: "Intrusion",
    outcome_false_alarm: "False alarm",
    outcome_nuisance: "Nuisance",
    outcome_test: "Test",
    timeline: "Timeline",
    evidence: "Evidence",
    history: "History",
    commands: "Floodlights switched on",
    by: "by",
    at: "at",
    details: "Details",
    hide: "Hide",
    mute: "Mute alerts",
    unmute: "Sound alerts",
    modality_ir: "infrared",
    modality_fence: "fence",
    modality_camera: "camera",
    fault_tamper: "tampered",
    fault_fault: "fault",
    fault_video_loss: "video lost",
    fault_heartbeat_lost: "silent",
    since: "since",
    kind_ir: "IR detector",
    kind_fence: "fence sensor",
    kind_floodlight: "floodlight",
    kind_camera: "camera",
    on: "on",
    off: "off",
    unknown: "unknown",
    role_commander: "commander (view only)",
    role_operator: "operator",
    role_admin: "administrator",
    action_failed: "The action failed:",
    new_incident: "New incident",
    legend: "Legend",
    seconds: "s",
    minutes: "min",
    hours: "h",
    cameras: "Cameras",
    no_cameras: "No camera on this site.",
    watch_live: "Live",
    stop_live: "Stop live",
    live_of: "Live view of",
    close: "Close",
    watch_cameras: "Watch its cameras live",
    clips: "Video clips",
    clips_removed: "Clips removed by retention",
    clips_stopped: "clips stopped",
    live_connecting: "connecting…",
    live_waiting: "waiting for a key frame…",
    live_playing: "live",
    live_reconnecting: "reconnecting…",
    "live_too-slow": "link too slow: reconnecting…",
    live_error: "player error: restarting…",
    live_stopped: "stopped",
  },
  fr: {
    title: "Vigie — situation tactique",
    login_title: "Connexion à Vigie",
    username: "Identifiant",
    token: "Jeton d'accès",
    sign_in: "Se connecter",
    sign_out: "Se déconnecter",
    login_failed: "Utilisateur inconnu ou jeton erroné.",
    live: "En direct",
    reconnecting: "Reconnexion…",
    site_plan: "Plan du site",
    incidents: "Incidents",
    no_incidents: "Aucun incident ouvert.",
    faults: "Défauts",
    no_faults: "Tous les équipements sont sains.",
    recently_resolved: "Clos récemment",
    state_secure: "sûre",
    state_alarm: "alarme",
    state_confirmed: "confirmée",
    state_degraded: "dégradée",
    incident_open: "ouvert",
    incident_acknowledged: "pris en compte",
    incident_resolved: "clos",
    priority: "Priorité",
    zones: "Zones",
    modalities: "Détecté par",
    age: "Âge",
    ack: "Prendre en compte",
    resolve: "Clore",
    comment: "Commentaire",
    outcome: "Conclusion",
    outcome_intrusion: "Intrusion",
    outcome_false_alarm: "Fausse alarme",
    outcome_nuisance: "Alarme intempestive",
    outcome_test: "Essai",
    timeline: "Chronologie",
    evidence: "Preuves",
    history: "Historique",
    commands: "Projecteurs allumés",
    by: "par",
    at: "à",
    details: "Détails",
    hide: "Masquer",
    mute: "Couper le son",
    unmute: "Activer le son",
    modality_ir: "infrarouge",
    modality_fence: "clôture",
    modality_camera: "caméra",
    fault_tamper: "sabotage",
    fault_fault: "panne",
    fault_video_loss: "perte vidéo",
    fault_heartbeat_lost: "muet",
    since: "depuis",
    kind_ir: "détecteur IR",
    kind_fence: "capteur de clôture",
    kind_floodlight: "projecteur",
    kind_camera: "caméra",
    on: "allumé",
    off: "éteint",
    unknown: "inconnu",
    role_commander: "commandement (lecture seule)",
    role_operator: "opérateur",
    role_admin: "administrateur",
    action_failed: "L'action a échoué :",
    new_incident: "Nouvel incident",
    legend: "Légende",
    seconds: "s",
    minutes: "min",
    hours: "h",
    cameras: "Caméras",
    no_cameras: "Aucune caméra sur ce site.",
    watch_live: "Direct",
    stop_live: "Arrêter le direct",
    live_of: "Direct de",
    close: "Fermer",
    watch_cameras: "Voir ses caméras en direct",
    clips: "Extraits vidéo",
    clips_removed: "Extraits supprimés (durée de conservation)",
    clips_stopped: "enregistrement arrêté",
    live_connecting: "connexion…",
    live_waiting: "attente d'une image clé…",
    live_playing: "en direct",
    live_reconnecting: "reconnexion…",
    "live_too-slow": "liaison trop lente : reconnexion…",
    live_error: "erreur du lecteur : redémarrage…",
    live_stopped: "arrêté",
  },
};

let lang = "en";

export function setLanguage(code) {
  lang = CATALOGUE[code] ? code : "en";
  document.documentElement.lang = lang;
  try { localStorage.setItem("vigie.lang", lang); } catch { /* private mode */ }
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  document.title = t("title");
}

export function language() { return lang; }

export function initialLanguage() {
  try {
    const saved = localStorage.getItem("vigie.lang");
    if (saved && CATALOGUE[saved]) return saved;
  } catch { /* private mode */ }
  return (navigator.language || "en").toLowerCase().startsWith("fr") ? "fr" : "en";
}

export function t(key) {
  return CATALOGUE[lang][key] ?? CATALOGUE.en[key] ?? key;
}

export function clock(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB");
}

export function age(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} ${t("seconds")}`;
  if (s < 3600) return `${Math.floor(s / 60)} ${t("minutes")} ${String(s % 60).padStart(2, "0")}`;
  return `${Math.floor(s / 3600)} ${t("hours")} ${String(Math.floor(s / 60) % 60).padStart(2, "0")}`;
}
