// The pages' calls to their service: JSON in and out with the session cookie. A 401 is
// handed to the page (to show the sign-in) and thrown; any other failure is thrown with
// the service's reason.
export function serviceApi(onUnauthorized) {
  return {
    async request(method, path, body) {
      const res = await fetch(path, {
        method, credentials: "same-origin",
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status === 401) { onUnauthorized(); throw new Error("401"); }
      if (!res.ok) {
        let detail = res.statusText;
        try { detail = (await res.json()).detail ?? detail; } catch { /* not JSON */ }
        throw new Error(`${res.status} ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
      }
      return res.json();
    },
    get(path) { return this.request("GET", path); },
    post(path, body) { return this.request("POST", path, body); },
  };
}
