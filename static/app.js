// Lite's player page. Plain JavaScript, no build step; the server's CSP allows only this file.
//
// The API key lives in sessionStorage and goes out only as the X-API-Key header of fetch/XHR calls.
// Media elements cannot send headers, so the player plays the short-lived signed `raw_url` from
// /download (same origin for every storage backend) and swaps in a fresh one before it expires,
// keeping the position, speed and play state.
//
// One set of controls (the media elements have no native `controls`), in a player bar that sticks
// to the top while the list scrolls. The place in each recording is remembered in localStorage.
'use strict';

(() => {
  const KEY_STORAGE = 'lite.apiKey';
  const PAGE_SIZE = 20;
  const WAVEFORM_BUCKETS = 1000;
  const SKIP_SECONDS = 10;
  const POSITION_PREFIX = 'lite.position.';
  const POSITION_KEEP = 200; // remembered places at most; the oldest are forgotten first
  const SEARCH_DELAY_MS = 250; // the server is asked once typing pauses this long

  const $ = (id) => document.getElementById(id);
  const els = {
    signIn: $('sign-in'),
    signInForm: $('sign-in-form'),
    keyInput: $('api-key'),
    signInMessage: $('sign-in-message'),
    signOut: $('sign-out'),
    who: $('who'),
    app: $('app'),
    player: $('player'),
    playerTitle: $('player-title'),
    playerSubtitle: $('player-subtitle'),
    playerMessage: $('player-message'),
    playerClose: $('player-close'),
    audio: $('player-audio'),
    video: $('player-video'),
    playPause: $('play-pause'),
    back: $('back-10'),
    forward: $('forward-10'),
    speed: $('speed'),
    position: $('position'),
    waveBox: $('waveform-box'),
    waveArea: $('wave-area'),
    wave: $('waveform'),
    playhead: $('playhead'),
    hoverLine: $('hover-line'),
    hoverTime: $('hover-time'),
    axis: $('wave-axis'),
    waveMessage: $('waveform-message'),
    dropZone: $('drop-zone'),
    fileInput: $('upload-file'),
    uploadList: $('upload-list'),
    uploadTemplate: $('upload-item'),
    dropOverlay: $('drop-overlay'),
    uploadMessage: $('upload-message'),
    list: $('recording-list'),
    listMessage: $('list-message'),
    listLoading: $('list-loading'),
    search: $('search'),
    refresh: $('refresh'),
    newer: $('newer'),
    older: $('older'),
    pageInfo: $('page-info'),
    dialog: $('confirm-delete'),
    dialogText: $('confirm-text'),
    recordingTemplate: $('recording-item'),
    mediaTemplate: $('media-item'),
  };

  const state = {
    key: null,
    offset: 0,
    total: 0,
    // The media being played: {recording, media, el, title, refreshTimer, refreshAt, lastRecovery, levels}
    current: null,
    uploading: false,
    uploadQueue: [], // {file, row, xhr}
    recordings: [], // the page of the list on screen
    loads: 0, // list loads in flight (for the loading indicator)
    listSeq: 0, // the newest list load: answers to older ones (a search typed over) are dropped
    query: '', // the search the list on screen answers ('' = all recordings)
    searchTimer: null,
    active: null, // the upload going on
  };

  // ---- talking to the API -------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  const SERVER_DOWN = 'Cannot reach the server. Check that Lite is running and that you are online, then try again.';

  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set('X-API-Key', state.key || '');
    let response;
    try {
      response = await fetch(path, { ...options, headers, cache: 'no-store' });
    } catch (err) {
      throw new ApiError(0, SERVER_DOWN);
    }
    if (!response.ok) {
      throw new ApiError(response.status, await errorDetail(response));
    }
    return response.status === 204 ? null : response.json();
  }

  async function errorDetail(response) {
    try {
      const body = await response.json();
      if (body && body.detail) return String(body.detail);
    } catch (err) {
      // not JSON: a proxy's error page, say
    }
    if (response.status === 502 || response.status === 503 || response.status === 504) {
      return `The server is not available right now (HTTP ${response.status}). Try again in a moment.`;
    }
    return `The server answered HTTP ${response.status}.`;
  }

  // A key that stops working mid-session (revoked) sends the person back to sign in, saying why.
  function handleAuthError(err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut('That API key was not accepted: it may be mistyped or revoked. Sign in with a valid key.');
      return true;
    }
    return false;
  }

  // ---- formatting ---------------------------------------------------------------------------

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function formatDate(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
  }

  function clock(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) return '–:––';
    const s = Math.floor(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
  }

  function formatDuration(seconds) {
    return seconds == null ? 'length unknown' : clock(seconds);
  }

  function formatSize(bytes) {
    if (bytes == null) return 'size unknown';
    const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  const STATUS_WORDS = { completed: 'Completed', in_progress: 'In progress', failed: 'Failed' };

  function recordingTitle(recording) {
    if (recording.title) return recording.title; // uploads: the file name; bots may send none
    if (recording.meeting_id != null) return `Meeting ${recording.meeting_id}`;
    return recording.session_uid;
  }

  function show(element, text, kind) {
    element.textContent = text;
    element.classList.toggle('error', kind === 'error');
    element.classList.toggle('ok', kind === 'ok');
    element.hidden = !text;
  }

  // Something worked: errors said earlier about the list, uploads or the player no longer hold.
  function clearErrors() {
    for (const element of [els.listMessage, els.uploadMessage, els.playerMessage]) {
      if (element.classList.contains('error')) show(element, '');
    }
  }

  // ---- signing in and out -------------------------------------------------------------------

  // Until GET /user answers (or if it cannot), the page names the key, masked: its last four characters.
  function maskedKey(key) {
    return key.length > 8 ? `key …${key.slice(-4)}` : 'an API key';
  }

  async function showWho(key) {
    let user;
    try {
      user = await api('/user');
    } catch (err) {
      return; // the masked key stays
    }
    const name = user && (user.email || user.name);
    if (state.key !== key || !name) return; // signed out (or in as someone else) meanwhile
    els.who.textContent = `Signed in as ${name}`;
    els.who.title = user.name && user.email ? `${user.name} <${user.email}>` : '';
  }

  async function signIn(key) {
    state.key = key;
    state.offset = 0;
    state.query = els.search.value.trim();
    const button = els.signInForm.querySelector('button[type=submit]');
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      await loadList();
    } catch (err) {
      state.key = null;
      if (err.status === 401) sessionStorage.removeItem(KEY_STORAGE);
      const text = err.status === 401
        ? 'That API key was not accepted: check that you copied all of it, or ask your administrator for a new one.'
        : err.message;
      showSignIn(text);
      return;
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    els.keyInput.value = '';
    els.signIn.hidden = true;
    els.app.hidden = false;
    els.signOut.hidden = false;
    els.who.textContent = `Signed in with ${maskedKey(key)}`;
    els.who.title = '';
    els.who.hidden = false;
    showWho(key);
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    closePlayer();
    cancelAllUploads();
    els.list.replaceChildren();
    state.recordings = [];
    els.search.value = '';
    state.query = '';
    clearTimeout(state.searchTimer);
    show(els.listMessage, '');
    show(els.uploadMessage, '');
    showSignIn(message || '');
  }

  function showSignIn(message) {
    els.app.hidden = true;
    els.signOut.hidden = true;
    els.who.hidden = true;
    els.signIn.hidden = false;
    show(els.signInMessage, message, message ? 'error' : null);
    els.keyInput.focus();
  }

  // ---- the list -----------------------------------------------------------------------------

  function listPath() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
    if (state.query) params.set('q', state.query);
    return `/recordings?${params}`;
  }

  async function loadList() {
    state.loads += 1;
    const seq = ++state.listSeq;
    els.listLoading.hidden = false;
    let data;
    try {
      data = await api(listPath());
    } finally {
      state.loads -= 1;
      els.listLoading.hidden = state.loads === 0;
    }
    if (seq !== state.listSeq) return data; // a newer load (another search) answers instead
    if (data.recordings.length === 0 && data.total > 0 && state.offset > 0) {
      // The last item of the last page went away (deleted here or elsewhere): show the page before.
      state.offset = Math.max(0, Math.floor((data.total - 1) / PAGE_SIZE) * PAGE_SIZE);
      return loadList();
    }
    renderList(data);
    return data;
  }

  async function reloadList() {
    try {
      await loadList();
      clearErrors();
    } catch (err) {
      if (!handleAuthError(err)) show(els.listMessage, err.message, 'error');
    }
  }

  const EMPTY_TEXT =
    'No recordings yet. To add your first one, drag and drop an audio or video file (WAV, WebM, Ogg, MP3, M4A, MP4) ' +
    'anywhere onto this page, or press “Choose files” above. Meeting bots that send recordings to the API show up here too.';

  function renderList(data) {
    state.total = data.total;
    state.recordings = data.recordings;
    let message = '';
    if (data.total === 0) {
      message = state.query
        ? `No recordings match “${state.query}”. Search looks for titles, meeting ids and session ids that start with the words typed.`
        : EMPTY_TEXT;
    }
    show(els.listMessage, message); // a loaded list replaces any earlier error
    els.list.replaceChildren(...state.recordings.map(renderRecording));
    const first = data.recordings.length ? state.offset + 1 : 0;
    const last = state.offset + data.recordings.length;
    els.pageInfo.textContent = data.total ? `${first}–${last} of ${data.total}` : '';
    els.newer.disabled = state.offset === 0;
    els.older.disabled = last >= data.total;
  }

  // The search box asks the server (GET /recordings?q=) once typing pauses; an empty box lists all.
  function searchSoon() {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(searchNow, SEARCH_DELAY_MS);
  }

  function searchNow() {
    clearTimeout(state.searchTimer);
    const query = els.search.value.trim();
    if (query === state.query || !state.key) return;
    state.query = query;
    state.offset = 0;
    reloadList();
  }

  function renderRecording(recording) {
    const item = els.recordingTemplate.content.firstElementChild.cloneNode(true);
    const title = recordingTitle(recording);
    item.dataset.recordingId = String(recording.id);
    const heading = item.querySelector('.recording-title');
    heading.textContent = title;
    heading.title = title;
    const badge = item.querySelector('.badge');
    badge.textContent = STATUS_WORDS[recording.status] || recording.status;
    badge.classList.add(recording.status);
    // Date here; duration and size on each media line below (a recording may hold audio and video).
    const from = recording.source === 'bot' ? ' · from a meeting bot' : '';
    item.querySelector('.recording-meta').textContent = `${formatDate(recording.created_at)}${from}`;
    if (recording.status === 'failed') {
      const why = item.querySelector('.recording-error');
      why.textContent = `Failed: ${recording.error_message || 'no reason was recorded.'}`;
      why.hidden = false;
      badge.title = recording.error_message || '';
    }

    const mediaList = item.querySelector('.media-list');
    if (recording.media_files.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'hint';
      empty.textContent = recording.status === 'in_progress' ? 'No media received yet.' : 'No media files.';
      mediaList.append(empty);
    }
    for (const media of recording.media_files) {
      const row = els.mediaTemplate.content.firstElementChild.cloneNode(true);
      const kind = media.type === 'video' ? 'Video' : 'Audio';
      row.querySelector('.media-meta').textContent =
        `${kind} · ${String(media.format).toUpperCase()} · ${formatDuration(media.duration_seconds)} · ${formatSize(media.file_size_bytes)}`;
      const play = row.querySelector('.play');
      play.setAttribute('aria-label', `Play the ${kind.toLowerCase()} of ${title}`);
      play.addEventListener('click', () => startPlayback(recording, media));
      const download = row.querySelector('.download');
      download.setAttribute('aria-label', `Download the ${kind.toLowerCase()} of ${title}`);
      download.addEventListener('click', () => downloadMedia(recording, media));
      mediaList.append(row);
    }
    const del = item.querySelector('.delete');
    del.setAttribute('aria-label', `Delete ${title}`);
    del.addEventListener('click', () => confirmDelete(recording));
    const rename = item.querySelector('.rename');
    rename.setAttribute('aria-label', `Rename ${title}`);
    rename.addEventListener('click', () => startRename(item, recording));
    // A click anywhere else on the row plays its first media (or keeps playing it).
    item.addEventListener('click', (event) => {
      if (event.target.closest('button, a, input, select')) return;
      const media = recording.media_files[0];
      if (!media) return;
      if (state.current && state.current.media.id === media.id && state.current.recording.id === recording.id) {
        els.playPause.focus({ preventScroll: true });
        return;
      }
      startPlayback(recording, media);
    });
    if (state.current && state.current.recording.id === recording.id) item.classList.add('playing');
    return item;
  }

  // ---- renaming ----------------------------------------------------------------------------

  // The title turns into a text box: Enter or leaving it saves (PATCH), Escape puts the title back.
  function startRename(item, recording) {
    const heading = item.querySelector('.recording-title');
    if (item.querySelector('.recording-title-input')) return;
    const input = document.createElement('input');
    input.type = 'text';
    input.className = 'recording-title-input';
    input.maxLength = 200;
    input.spellcheck = false;
    input.autocomplete = 'off';
    input.value = recording.title || recordingTitle(recording);
    input.setAttribute('aria-label', `New title for ${recordingTitle(recording)}`);
    heading.hidden = true;
    heading.after(input);
    item.querySelector('.rename').disabled = true;
    input.focus();
    input.select();

    let busy = false;
    let finished = false;
    const finish = () => {
      finished = true;
      input.remove();
      heading.hidden = false;
      item.querySelector('.rename').disabled = false;
    };
    const save = async (fromBlur) => {
      if (busy || finished) return;
      const title = input.value;
      if (title.trim() === (recording.title || '') && recording.title) {
        finish(); // unchanged
        return;
      }
      busy = true;
      input.readOnly = true;
      let updated;
      try {
        updated = await api(`/recordings/${recording.id}`, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ title }),
        });
      } catch (err) {
        busy = false;
        input.readOnly = false;
        if (handleAuthError(err)) return;
        show(els.listMessage, `Could not rename: ${err.message}`, 'error');
        if (fromBlur || !input.isConnected) {
          finish(); // the person moved on: leave the old title in place
        } else {
          input.setAttribute('aria-invalid', 'true');
          input.focus();
        }
        return;
      }
      finish();
      renamed(recording, updated);
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        save(false);
      } else if (event.key === 'Escape') {
        event.preventDefault();
        finish();
        item.querySelector('.rename').focus();
      }
    });
    input.addEventListener('blur', () => save(true));
  }

  function renamed(recording, updated) {
    Object.assign(recording, updated);
    clearErrors();
    show(els.listMessage, `Renamed to “${recordingTitle(recording)}”.`, 'ok');
    const old = els.list.querySelector(`.recording[data-recording-id="${recording.id}"]`);
    if (old) {
      const fresh = renderRecording(recording);
      old.replaceWith(fresh);
      fresh.querySelector('.rename').focus({ preventScroll: true });
    }
    const current = state.current;
    if (current && current.recording.id === recording.id) {
      current.title = recordingTitle(recording);
      els.playerTitle.textContent = current.title;
      els.playerTitle.title = current.title;
    }
  }

  // ---- remembered places --------------------------------------------------------------------

  function positionKey(current) {
    return `${POSITION_PREFIX}${current.recording.id}.${current.media.id}`;
  }

  function savePosition(current) {
    // Not while a source is loading: its position reads 0 until the place is put back.
    if (!current || !current.ready || !Number.isFinite(current.el.currentTime)) return;
    const duration = knownDuration(current);
    const at = current.el.currentTime;
    try {
      // Near the start or the end there is nothing worth remembering: the next play starts over.
      if (at < 3 || (duration && at > duration - 3)) localStorage.removeItem(positionKey(current));
      else localStorage.setItem(positionKey(current), JSON.stringify({ at, t: Date.now() }));
    } catch (err) {
      // storage full or disabled: playback goes on without remembering
    }
  }

  function savedPosition(current) {
    try {
      const saved = JSON.parse(localStorage.getItem(positionKey(current)) || 'null');
      return saved && Number.isFinite(saved.at) ? saved.at : 0;
    } catch (err) {
      return 0;
    }
  }

  function forgetOldPositions() {
    try {
      const entries = [];
      for (let i = 0; i < localStorage.length; i += 1) {
        const key = localStorage.key(i);
        if (!key || !key.startsWith(POSITION_PREFIX)) continue;
        let t = 0;
        try {
          t = JSON.parse(localStorage.getItem(key)).t || 0;
        } catch (err) {
          t = 0;
        }
        entries.push([t, key]);
      }
      entries.sort((a, b) => b[0] - a[0]);
      for (const [, key] of entries.slice(POSITION_KEEP)) localStorage.removeItem(key);
    } catch (err) {
      // nothing to tidy
    }
  }

  // ---- playback -----------------------------------------------------------------------------

  function downloadPath(recording, media) {
    return `/recordings/${recording.id}/media/${media.id}/download`;
  }

  async function startPlayback(recording, media) {
    closePlayer();
    const el = media.type === 'video' ? els.video : els.audio;
    const title = recordingTitle(recording);
    const current = {
      recording, media, el, title, refreshTimer: null, refreshAt: 0, lastRecovery: 0, levels: null, savedAt: 0, ready: false,
    };
    state.current = current;
    els.audio.hidden = el !== els.audio;
    els.video.hidden = el !== els.video;
    els.playerTitle.textContent = title;
    els.playerTitle.title = title;
    const kind = media.type === 'video' ? 'Video' : 'Audio';
    els.playerSubtitle.textContent =
      `${kind} · ${String(media.format).toUpperCase()} · ${formatDate(recording.created_at)}` +
      (recording.status === 'in_progress' ? ' · still recording: what has arrived so far' : '');
    show(els.playerMessage, '');
    els.player.hidden = false;
    markPlaying();
    updatePosition();
    updatePlayButton();
    els.playPause.focus({ preventScroll: true });

    let link;
    try {
      link = await api(downloadPath(recording, media));
    } catch (err) {
      if (!handleAuthError(err)) show(els.playerMessage, `This recording cannot be played: ${err.message}`, 'error');
      return;
    }
    if (state.current !== current) return;
    el.defaultPlaybackRate = Number(els.speed.value);
    el.playbackRate = el.defaultPlaybackRate;
    const resumeAt = savedPosition(current);
    // Carry on where this recording was left, once the browser knows its length.
    el.addEventListener('loadedmetadata', () => {
      if (state.current !== current) return;
      const end = Number.isFinite(el.duration) ? el.duration : Infinity;
      if (resumeAt > 0 && resumeAt < end - 3) {
        el.currentTime = resumeAt;
        current.savedAt = resumeAt;
        els.playerSubtitle.textContent += ` · resumed at ${clock(resumeAt)}`;
      }
      current.ready = true;
    }, { once: true });
    el.src = link.raw_url;
    scheduleRefresh(current, link.raw_url_expires_in);
    if (els.player.getBoundingClientRect().top < 0) els.player.scrollIntoView({ block: 'start', behavior: 'smooth' });
    els.playPause.focus({ preventScroll: true });
    el.play().catch(() => {
      // Autoplay may be refused; the person presses Play.
    });
    loadWaveform(current);
  }

  function closePlayer() {
    const current = state.current;
    if (current) savePosition(current);
    state.current = null;
    if (current) clearTimeout(current.refreshTimer);
    for (const el of [els.audio, els.video]) {
      el.pause();
      el.removeAttribute('src');
      el.load();
    }
    els.player.hidden = true;
    els.waveBox.hidden = true;
    els.waveMessage.hidden = true;
    markPlaying();
  }

  function markPlaying() {
    const id = state.current ? String(state.current.recording.id) : null;
    for (const item of els.list.children) {
      item.classList.toggle('playing', item.dataset.recordingId === id);
    }
  }

  // Renew the signed URL well before it expires: 60 s early, or at 80 % of a short lifetime.
  function scheduleRefresh(current, expiresIn) {
    clearTimeout(current.refreshTimer);
    if (!expiresIn) return;
    const ms = Math.max(expiresIn * 800, (expiresIn - 60) * 1000);
    current.refreshAt = Date.now() + ms;
    current.refreshTimer = setTimeout(() => refreshSource(current), ms);
  }

  async function refreshSource(current) {
    if (state.current !== current) return;
    let link;
    try {
      link = await api(downloadPath(current.recording, current.media));
    } catch (err) {
      if (handleAuthError(err)) return;
      show(els.playerMessage, `Could not renew the playback link (${err.message}); trying again shortly.`, 'error');
      clearTimeout(current.refreshTimer);
      current.refreshTimer = setTimeout(() => refreshSource(current), 15000);
      return;
    }
    if (state.current !== current) return;
    const el = current.el;
    const position = el.currentTime;
    const wasPlaying = !el.paused && !el.ended;
    // A new src restarts loading; put the position back once the metadata is in, then carry on.
    current.ready = false;
    el.addEventListener('loadedmetadata', () => {
      if (state.current !== current) return;
      if (position > 0) el.currentTime = position;
      current.ready = true;
      if (wasPlaying) el.play().catch(() => {});
    }, { once: true });
    el.src = link.raw_url;
    show(els.playerMessage, '');
    scheduleRefresh(current, link.raw_url_expires_in);
  }

  function onMediaError(event) {
    const current = state.current;
    const el = event.target;
    if (!current || current.el !== el || !el.error) return;
    // An expired link after the computer slept, or a dropped connection: renew once, keep the place.
    if (Date.now() - current.lastRecovery > 10000) {
      current.lastRecovery = Date.now();
      refreshSource(current);
      return;
    }
    const reasons = {
      1: 'playback was stopped',
      2: 'the network failed while loading',
      3: 'the file could not be decoded',
      4: 'this browser cannot play this format',
    };
    const why = reasons[el.error.code] || 'an unknown error';
    show(els.playerMessage, `This recording cannot be played here: ${why}. You can still download it.`, 'error');
  }

  function togglePlay() {
    const current = state.current;
    if (!current) return;
    if (current.el.paused || current.el.ended) current.el.play().catch(() => {});
    else current.el.pause();
  }

  function skip(seconds) {
    const current = state.current;
    if (!current) return;
    const el = current.el;
    const end = Number.isFinite(el.duration) ? el.duration : Infinity;
    el.currentTime = Math.min(Math.max(0, el.currentTime + seconds), end);
    updatePosition();
  }

  function knownDuration(current) {
    if (Number.isFinite(current.el.duration)) return current.el.duration;
    if (current.levels) return current.levels.duration_seconds;
    return current.media.duration_seconds;
  }

  function updatePosition() {
    const current = state.current;
    if (!current) {
      els.position.textContent = '0:00 / 0:00';
      return;
    }
    const duration = knownDuration(current);
    const at = current.el.currentTime;
    els.position.textContent = `${clock(at)} / ${clock(duration)}`;
    const fraction = duration ? Math.min(1, Math.max(0, at / duration)) : 0;
    els.playhead.style.left = `${(fraction * 100).toFixed(3)}%`;
    els.waveArea.setAttribute('aria-valuenow', String(Math.floor(at)));
    els.waveArea.setAttribute('aria-valuetext', `${clock(at)} of ${clock(duration)}`);
    if (duration) els.waveArea.setAttribute('aria-valuemax', String(Math.ceil(duration)));
    drawWaveform();
    // Remember the place every few seconds of playing, and at once on pause or seek.
    if (Math.abs(at - current.savedAt) >= 5 || current.el.paused) {
      current.savedAt = at;
      savePosition(current);
    }
  }

  function updatePlayButton() {
    const current = state.current;
    const playing = current && !current.el.paused && !current.el.ended;
    const icon = document.createElement('span');
    icon.className = playing ? 'icon-pause' : 'icon-play';
    icon.setAttribute('aria-hidden', 'true');
    els.playPause.replaceChildren(icon);
    els.playPause.setAttribute('aria-label', playing ? 'Pause' : 'Play');
  }

  // ---- level overview -----------------------------------------------------------------------

  async function loadWaveform(current) {
    current.levels = null;
    els.waveBox.hidden = true;
    show(els.waveMessage, 'Working out the level overview…');
    const { recording, media } = current;
    let levels;
    try {
      levels = await api(`/recordings/${recording.id}/media/${media.id}/waveform?buckets=${WAVEFORM_BUCKETS}`);
    } catch (err) {
      if (state.current !== current || handleAuthError(err)) return;
      const text = err.status === 409
        ? 'The level overview appears once the recording is complete.'
        : `No level overview for this file: ${err.message}`;
      show(els.waveMessage, text);
      return;
    }
    if (state.current !== current) return;
    current.levels = levels;
    show(els.waveMessage, '');
    els.waveBox.hidden = levels.peaks.length === 0;
    drawAxis();
    updatePosition();
  }

  // Time labels under the overview at a round step that leaves room for each label.
  function drawAxis() {
    const current = state.current;
    if (!current || els.waveBox.hidden) return;
    const duration = knownDuration(current);
    const width = els.axis.clientWidth;
    if (!duration || !width) {
      els.axis.replaceChildren();
      return;
    }
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    const room = width / 60; // labels at least ~60 px apart
    const step = steps.find((s) => duration / s <= room) || steps[steps.length - 1];
    const labels = [];
    for (let t = 0; t < duration - step * 0.35; t += step) {
      const label = document.createElement('span');
      label.textContent = clock(t);
      label.style.left = `${((t / duration) * 100).toFixed(3)}%`;
      if (t === 0) label.classList.add('first');
      labels.push(label);
    }
    els.axis.replaceChildren(...labels);
  }

  function drawWaveform() {
    const current = state.current;
    if (!current || !current.levels || els.waveBox.hidden) return;
    const canvas = els.wave;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, width, height);
    const peaks = current.levels.peaks;
    const loudest = Math.max(0.02, ...peaks);
    const duration = knownDuration(current);
    const playedX = duration ? (current.el.currentTime / duration) * width : 0;
    const style = getComputedStyle(canvas);
    const bar = Math.max(1, Math.round(ratio * 2));
    for (let x = 0; x < width; x += bar) {
      const from = Math.floor((x / width) * peaks.length);
      const to = Math.max(from + 1, Math.floor(((x + bar) / width) * peaks.length));
      let peak = 0;
      for (let i = from; i < to && i < peaks.length; i += 1) peak = Math.max(peak, peaks[i]);
      // Square root: quiet speech stays visible next to loud laughter.
      const h = Math.max(ratio, Math.sqrt(peak / loudest) * (height - 2 * ratio));
      ctx.fillStyle = x < playedX ? style.borderTopColor : style.color;
      ctx.fillRect(x, (height - h) / 2, Math.max(1, bar - ratio), h);
    }
  }

  function waveFraction(event) {
    const box = els.waveArea.getBoundingClientRect();
    return Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
  }

  function seekFromWaveform(event) {
    const current = state.current;
    if (!current) return;
    const duration = knownDuration(current);
    if (!duration) return;
    current.el.currentTime = waveFraction(event) * duration;
    updatePosition();
  }

  function showHoverTime(event) {
    const current = state.current;
    const duration = current && knownDuration(current);
    if (!duration) return;
    const fraction = waveFraction(event);
    const left = `${(fraction * 100).toFixed(3)}%`;
    els.hoverTime.textContent = clock(fraction * duration);
    els.hoverTime.style.left = left;
    els.hoverLine.style.left = left;
    // Keep the label inside the box at both ends.
    els.hoverTime.classList.toggle('edge-left', fraction < 0.04);
    els.hoverTime.classList.toggle('edge-right', fraction > 0.96);
    els.hoverTime.hidden = false;
    els.hoverLine.hidden = false;
  }

  function hideHoverTime() {
    els.hoverTime.hidden = true;
    els.hoverLine.hidden = true;
  }

  // ---- download, delete, upload -------------------------------------------------------------

  async function downloadMedia(recording, media) {
    let link;
    try {
      link = await api(downloadPath(recording, media));
    } catch (err) {
      if (!handleAuthError(err)) show(els.listMessage, `Download failed: ${err.message}`, 'error');
      return;
    }
    clearErrors();
    // Same origin for every backend; `download=1` names the file as an attachment, so it is saved
    // under its name also where /raw redirects to the store (RAW_REDIRECT_TO_STORE).
    const a = document.createElement('a');
    a.href = `${link.raw_url}${link.raw_url.includes('?') ? '&' : '?'}download=1`;
    a.download = link.filename;
    document.body.append(a);
    a.click();
    a.remove();
  }

  function confirmDelete(recording) {
    const title = recordingTitle(recording);
    els.dialogText.textContent =
      `“${title}” (${formatDate(recording.created_at)}) and its media files will be removed from storage for good. ` +
      'This cannot be undone: download it first if you may want it later.';
    els.dialog.returnValue = '';
    els.dialog.onclose = () => {
      if (els.dialog.returnValue === 'delete') deleteRecording(recording);
    };
    els.dialog.showModal();
  }

  async function deleteRecording(recording) {
    try {
      await api(`/recordings/${recording.id}`, { method: 'DELETE' });
    } catch (err) {
      if (!handleAuthError(err)) show(els.listMessage, `Could not delete: ${err.message}`, 'error');
      return;
    }
    if (state.current && state.current.recording.id === recording.id) closePlayer();
    for (const media of recording.media_files) {
      try {
        localStorage.removeItem(`${POSITION_PREFIX}${recording.id}.${media.id}`);
      } catch (err) {
        // nothing remembered
      }
    }
    await reloadList();
    show(els.uploadMessage, `Deleted “${recordingTitle(recording)}”.`, 'ok');
  }

  // Each file gets a row with its own progress and a Cancel button; files go up one at a time.
  function queueUploads(files) {
    for (const file of files) {
      const row = els.uploadTemplate.content.firstElementChild.cloneNode(true);
      row.querySelector('.upload-name').textContent = file.name;
      row.querySelector('.upload-name').title = file.name;
      const bar = row.querySelector('progress');
      bar.setAttribute('aria-label', `Upload of ${file.name}`);
      const job = { file, row, xhr: null };
      const cancel = row.querySelector('.cancel');
      cancel.setAttribute('aria-label', `Cancel the upload of ${file.name}`);
      cancel.addEventListener('click', () => cancelUpload(job));
      els.uploadList.append(row);
      state.uploadQueue.push(job);
    }
    if (!state.uploading) uploadNext();
  }

  function cancelUpload(job) {
    const queued = state.uploadQueue.indexOf(job);
    if (queued >= 0) state.uploadQueue.splice(queued, 1);
    job.cancelled = true;
    if (job.xhr) job.xhr.abort(); // the abort handler moves on to the next file
    job.row.remove();
    show(els.uploadMessage, `Upload of “${job.file.name}” cancelled.`);
  }

  function cancelAllUploads() {
    for (const job of [...state.uploadQueue]) cancelUpload(job);
    if (state.active) cancelUpload(state.active);
    show(els.uploadMessage, '');
  }

  function uploadNext() {
    const job = state.uploadQueue.shift();
    state.active = job || null;
    if (!job) {
      state.uploading = false;
      return;
    }
    state.uploading = true;
    const { file, row } = job;
    const form = new FormData();
    // Fields that decide the storage key go before the file (the server streams the file as it comes).
    if (file.type.startsWith('video/') && !/\.(weba|wav|mp3|m4a|ogg|opus)$/i.test(file.name)) {
      form.append('media_type', 'video');
    }
    form.append('file', file, file.name);

    const bar = row.querySelector('progress');
    const percent = row.querySelector('.upload-percent');
    const xhr = new XMLHttpRequest();
    job.xhr = xhr;
    xhr.open('POST', '/recordings');
    xhr.setRequestHeader('X-API-Key', state.key || '');
    xhr.responseType = 'json';
    bar.value = 0;
    percent.textContent = '0 %';
    row.classList.add('active');
    xhr.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable) return;
      const done = Math.floor((event.loaded / event.total) * 100);
      bar.value = done;
      percent.textContent = `${done} %`;
    });
    xhr.addEventListener('load', async () => {
      row.remove();
      if (xhr.status === 201) {
        clearErrors();
        show(els.uploadMessage, `Uploaded “${file.name}”.`, 'ok');
        state.offset = 0;
        await reloadList();
      } else if (xhr.status === 401) {
        handleAuthError(new ApiError(401, ''));
        return;
      } else {
        const detail = xhr.response && xhr.response.detail ? xhr.response.detail : `HTTP ${xhr.status}`;
        show(els.uploadMessage, `“${file.name}” was not uploaded: ${detail}`, 'error');
      }
      uploadNext();
    });
    xhr.addEventListener('error', () => {
      row.remove();
      show(els.uploadMessage, `“${file.name}” was not uploaded. ${SERVER_DOWN}`, 'error');
      uploadNext();
    });
    xhr.addEventListener('abort', () => {
      row.remove();
      uploadNext();
    });
    xhr.send(form);
  }

  // ---- wiring -------------------------------------------------------------------------------

  els.signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = els.keyInput.value.trim();
    if (!key) {
      showSignIn('Enter your API key. An administrator creates one with POST /admin/users/{id}/tokens.');
      return;
    }
    signIn(key);
  });
  els.signOut.addEventListener('click', () => signOut(''));
  els.refresh.addEventListener('click', reloadList);
  els.search.addEventListener('input', searchSoon);
  els.search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      searchNow();
    }
  });
  els.newer.addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    reloadList();
  });
  els.older.addEventListener('click', () => {
    state.offset += PAGE_SIZE;
    reloadList();
  });

  els.playerClose.addEventListener('click', closePlayer);
  els.playPause.addEventListener('click', togglePlay);
  els.back.addEventListener('click', () => skip(-SKIP_SECONDS));
  els.forward.addEventListener('click', () => skip(SKIP_SECONDS));
  els.speed.addEventListener('change', () => {
    const rate = Number(els.speed.value);
    for (const el of [els.audio, els.video]) {
      el.defaultPlaybackRate = rate; // kept when the playback link is renewed
      el.playbackRate = rate;
    }
  });
  for (const el of [els.audio, els.video]) {
    el.addEventListener('error', onMediaError);
    for (const name of ['play', 'pause', 'ended']) el.addEventListener(name, updatePlayButton);
    for (const name of ['timeupdate', 'durationchange', 'seeked', 'loadedmetadata', 'pause']) {
      el.addEventListener(name, updatePosition);
    }
    el.addEventListener('durationchange', drawAxis);
    el.addEventListener('click', togglePlay); // clicking the video plays or pauses it
  }
  els.waveArea.setAttribute('role', 'slider');
  els.waveArea.setAttribute('tabindex', '0');
  els.waveArea.setAttribute('aria-label', 'Position: ←/→ skip 10 s, or click to jump');
  els.waveArea.setAttribute('aria-valuemin', '0');
  els.waveArea.addEventListener('click', seekFromWaveform);
  els.waveArea.addEventListener('pointermove', showHoverTime);
  els.waveArea.addEventListener('pointerleave', hideHoverTime);
  window.addEventListener('resize', () => {
    drawWaveform();
    drawAxis();
  });
  window.addEventListener('pagehide', () => savePosition(state.current));
  document.addEventListener('visibilitychange', () => {
    const current = state.current;
    if (document.visibilityState === 'hidden') savePosition(current);
    // Timers sleep in background tabs; renew at once if the link went stale meanwhile.
    if (document.visibilityState === 'visible' && current && current.refreshAt && Date.now() >= current.refreshAt) {
      refreshSource(current);
    }
  });

  document.addEventListener('keydown', (event) => {
    if (!state.current || event.altKey || event.ctrlKey || event.metaKey || els.dialog.open) return;
    const target = event.target;
    const tag = target && target.tagName;
    if (target && (target.isContentEditable || tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT')) return;
    // Space on a button presses that button (on the play button: play/pause); elsewhere it plays/pauses.
    const onButton = tag === 'BUTTON' || tag === 'A';
    if ((event.key === ' ' && !onButton) || event.key === 'k' || event.key === 'K') {
      event.preventDefault();
      togglePlay();
    } else if (event.key === 'ArrowLeft') {
      event.preventDefault();
      skip(-SKIP_SECONDS);
    } else if (event.key === 'ArrowRight') {
      event.preventDefault();
      skip(SKIP_SECONDS);
    }
  });

  els.fileInput.addEventListener('change', () => {
    queueUploads([...els.fileInput.files]);
    els.fileInput.value = '';
  });
  // Files dropped anywhere on the page are uploaded (when signed in).
  let dragDepth = 0;
  const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
  document.addEventListener('dragenter', (event) => {
    if (els.app.hidden || !carriesFiles(event)) return;
    dragDepth += 1;
    els.dropOverlay.hidden = false;
    els.dropZone.classList.add('over');
  });
  document.addEventListener('dragover', (event) => {
    if (els.app.hidden || !carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) {
      els.dropOverlay.hidden = true;
      els.dropZone.classList.remove('over');
    }
  });
  document.addEventListener('drop', (event) => {
    dragDepth = 0;
    els.dropOverlay.hidden = true;
    els.dropZone.classList.remove('over');
    if (els.app.hidden || !carriesFiles(event)) return;
    event.preventDefault();
    const files = [...event.dataTransfer.files];
    if (files.length) queueUploads(files);
  });

  forgetOldPositions();
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) signIn(saved);
  else showSignIn('');
})();
