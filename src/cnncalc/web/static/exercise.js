// The exercise page: ask /api/exercise for a sheet and offer its files as downloads.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const FILES = [
    ["sheet_md", "sheet.md", "text/markdown"],
    ["sheet_latex", "sheet.tex", "application/x-tex"],
    ["key_md", "key.md", "text/markdown"],
    ["key_latex", "key.tex", "application/x-tex"],
    ["key_json", "key.json", "application/json"],
    ["answers_csv", "answers.csv", "text/csv"],
  ];
  let urls = [];

  function request() {
    const body = { seed: Number.parseInt($("seed").value, 10) };
    if (Number.isNaN(body.seed)) throw new Error("the seed is a whole number, e.g. 1");
    body.difficulty = $("difficulty").value;
    const q = $("questions").value.trim();
    if (q) {
      body.questions = Number.parseInt(q, 10);
      if (Number.isNaN(body.questions)) throw new Error("the number of questions is a whole number");
    }
    const kinds = Array.from(document.querySelectorAll("#kinds input:checked")).map((x) => x.value);
    if (!kinds.length) throw new Error("choose at least one kind of question");
    body.kinds = kinds.join(",");
    const roster = $("roster").value;
    if (roster.trim()) body.students = roster;
    return body;
  }

  async function make() {
    const status = $("status");
    let body;
    try {
      body = request();
    } catch (err) {
      status.textContent = err.message;
      return;
    }
    status.textContent = "working…";
    $("make").disabled = true;
    try {
      const res = await fetch("/api/exercise", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await res.json();
      if (!res.ok) {
        status.textContent = data.error || `error ${res.status}`;
        return;
      }
      urls.forEach((u) => URL.revokeObjectURL(u));
      urls = [];
      const list = $("downloads");
      list.replaceChildren();
      for (const [field, name, type] of FILES) {
        const url = URL.createObjectURL(new Blob([data[field]], { type }));
        urls.push(url);
        const a = document.createElement("a");
        a.href = url;
        a.download = name;
        a.textContent = name;
        const li = document.createElement("li");
        li.append(a);
        list.append(li);
      }
      $("preview").textContent = data.sheet_md;
      $("exercise-out").hidden = false;
      const who = data.students ? `${data.students} students` : "one sheet for everyone";
      status.textContent = `${who}, ${data.columns.length} answers each`;
    } catch (err) {
      status.textContent = `the server did not answer: ${err.message}`;
    } finally {
      $("make").disabled = false;
    }
  }

  $("make").addEventListener("click", make);
})();
