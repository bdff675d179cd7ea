// Lite's player page. Plain JavaScript, no build step; the server's CSP allows only this file.
//
// The API key lives in sessionStorage and goes out only as the X-API-Key header of fetch/XHR calls.
// Media elements cannot send headers, so the player plays the short-lived signed `raw_url` from
// /download (same origin for every storage backend) and swaps in a fresh one before it expires,
// keeping the position, speed and play state.
'use strict';

(() => {
  const KEY_STORAGE = 'lite.apiKey';
  const PAGE_SIZE = 20;
  const WAVEFORM_BUCKETS = 1000;
  const SKIP_SECONDS = 10;

  const $ = (id) => document.getElementById(id);
  const els = {
    signIn: $('sign-in'),
    signInForm: $('sign-in-form'),
    keyInput: $('api-key'),
    signInMessage: $('sign-in-message'),
    signOut: $('sign-out'),
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
    wave: $('waveform'),
    waveMessage: $('waveform-message'),
    dropZone: $('drop-zone'),
    fileInput: $('upload-file'),
    progressRow: $('upload-progress-row'),
    progress: $('upload-progress'),
    progressLabel: $('upload-label'),
    percent: $('upload-percent'),
    uploadMessage: $('upload-message'),
    list: $('recording-list'),
    listMessage: $('list-message'),
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
    uploadQueue: [],
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

  const STATUS_WORDS = { completed: 'Complete', in_progress: 'In progress', failed: 'Failed' };

  function recordingTitle(recording) {
    if (recording.meeting_id != null) return `Meeting ${recording.meeting_id}`;
    return recording.session_uid;
  }

  function show(element, text, kind) {
    element.textContent = text;
    element.classList.toggle('error', kind === 'error');
    element.classList.toggle('ok', kind === 'ok');
    element.hidden = !text;
  }

  // ---- signing in and out -------------------------------------------------------------------

  async function signIn(key) {
    state.key = key;
    state.offset = 0;
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
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    els.keyInput.value = '';
    els.signIn.hidden = true;
    els.app.hidden = false;
    els.signOut.hidden = false;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    closePlayer();
    els.list.replaceChildren();
    show(els.listMessage, '');
    show(els.uploadMessage, '');
    showSignIn(message || '');
  }

  function showSignIn(message) {
    els.app.hidden = true;
    els.signOut.hidden = true;
    els.signIn.hidden = false;
    show(els.signInMessage, message, message ? 'error' : null);
    els.keyInput.focus();
  }

  // ---- the list -----------------------------------------------------------------------------

  async function loadList() {
    const data = await api(`/recordings?limit=${PAGE_SIZE}&offset=${state.offset}`);
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
    } catch (err) {
      if (!handleAuthError(err)) show(els.listMessage, err.message, 'error');
    }
  }

  function renderList(data) {
    state.total = data.total;
    els.list.replaceChildren();
    if (data.total === 0) {
      show(els.listMessage, 'No recordings yet. Upload one above, or send one to the API; it will show up here.');
    } else {
      show(els.listMessage, '');
    }
    for (const recording of data.recordings) {
      els.list.append(renderRecording(recording));
    }
    const first = data.recordings.length ? state.offset + 1 : 0;
    const last = state.offset + data.recordings.length;
    els.pageInfo.textContent = data.total ? `${first}–${last} of ${data.total}` : '';
    els.newer.disabled = state.offset === 0;
    els.older.disabled = last >= data.total;
  }

  function renderRecording(recording) {
    const item = els.recordingTemplate.content.firstElementChild.cloneNode(true);
    const title = recordingTitle(recording);
    item.dataset.recordingId = String(recording.id);
    item.querySelector('.recording-title').textContent = title;
    const badge = item.querySelector('.badge');
    badge.textContent = STATUS_WORDS[recording.status] || recording.status;
    badge.classList.add(recording.status);
    const source = recording.source === 'bot' ? 'from a meeting bot' : 'uploaded';
    item.querySelector('.recording-meta').textContent = `${formatDate(recording.created_at)} · ${source}`;

    const mediaList = item.querySelector('.media-list');
    if (recording.media_files.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'hint';
      empty.textContent = 'No media received yet.';
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
    if (state.current && state.current.recording.id === recording.id) item.classList.add('playing');
    return item;
  }

  // ---- playback -----------------------------------------------------------------------------

  function downloadPath(recording, media) {
    return `/recordings/${recording.id}/media/${media.id}/download`;
  }

  async function startPlayback(recording, media) {
    closePlayer();
    const el = media.type === 'video' ? els.video : els.audio;
    const title = recordingTitle(recording);
    const current = { recording, media, el, title, refreshTimer: null, refreshAt: 0, lastRecovery: 0, levels: null };
    state.current = current;
    els.audio.hidden = el !== els.audio;
    els.video.hidden = el !== els.video;
    els.playerTitle.textContent = title;
    const kind = media.type === 'video' ? 'Video' : 'Audio';
    els.playerSubtitle.textContent =
      `${kind} · ${String(media.format).toUpperCase()} · ${formatDate(recording.created_at)}` +
      (recording.status === 'in_progress' ? ' · still recording: what has arrived so far' : '');
    show(els.playerMessage, '');
    els.player.hidden = false;
    markPlaying();
    updatePosition();

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
    el.src = link.raw_url;
    scheduleRefresh(current, link.raw_url_expires_in);
    els.player.scrollIntoView({ block: 'start', behavior: 'smooth' });
    els.playPause.focus({ preventScroll: true });
    el.play().catch(() => {
      // Autoplay may be refused; the person presses Play.
    });
    loadWaveform(current);
  }

  function closePlayer() {
    const current = state.current;
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
    el.addEventListener('loadedmetadata', () => {
      if (state.current !== current) return;
      if (position > 0) el.currentTime = position;
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
    els.position.textContent = `${clock(current.el.currentTime)} / ${clock(knownDuration(current))}`;
    drawWaveform();
  }

  function updatePlayButton() {
    const current = state.current;
    const playing = current && !current.el.paused && !current.el.ended;
    els.playPause.textContent = playing ? 'Pause' : 'Play';
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
    drawWaveform();
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

  function seekFromWaveform(event) {
    const current = state.current;
    if (!current) return;
    const duration = knownDuration(current);
    if (!duration) return;
    const box = els.wave.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    current.el.currentTime = fraction * duration;
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
    // Same origin for every backend, so the download attribute is honoured and no storage host leaks.
    const a = document.createElement('a');
    a.href = link.raw_url;
    a.download = link.filename;
    document.body.append(a);
    a.click();
    a.remove();
  }

  function confirmDelete(recording) {
    const title = recordingTitle(recording);
    els.dialogText.textContent =
      `“${title}” (${formatDate(recording.created_at)}) and its media files will be removed from storage. This cannot be undone.`;
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
    await reloadList();
    show(els.uploadMessage, `Deleted “${recordingTitle(recording)}”.`, 'ok');
  }

  function queueUploads(files) {
    state.uploadQueue.push(...files);
    if (!state.uploading) uploadNext();
  }

  function uploadNext() {
    const file = state.uploadQueue.shift();
    if (!file) {
      state.uploading = false;
      els.fileInput.disabled = false;
      return;
    }
    state.uploading = true;
    els.fileInput.disabled = true;
    const form = new FormData();
    // Fields that decide the storage key go before the file (the server streams the file as it comes).
    if (file.type.startsWith('video/') && !/\.(weba|wav|mp3|m4a|ogg|opus)$/i.test(file.name)) {
      form.append('media_type', 'video');
    }
    form.append('file', file, file.name);

    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/recordings');
    xhr.setRequestHeader('X-API-Key', state.key || '');
    xhr.responseType = 'json';
    els.progress.value = 0;
    els.percent.textContent = '0 %';
    els.progressLabel.textContent = `Uploading “${file.name}”`;
    els.progressRow.hidden = false;
    show(els.uploadMessage, '');
    xhr.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.floor((event.loaded / event.total) * 100);
      els.progress.value = percent;
      els.percent.textContent = `${percent} %`;
    });
    xhr.addEventListener('load', async () => {
      els.progressRow.hidden = true;
      if (xhr.status === 201) {
        show(els.uploadMessage, `Uploaded “${file.name}”.`, 'ok');
        state.offset = 0;
        await reloadList();
      } else if (xhr.status === 401) {
        state.uploadQueue = [];
        handleAuthError(new ApiError(401, ''));
      } else {
        const detail = xhr.response && xhr.response.detail ? xhr.response.detail : `HTTP ${xhr.status}`;
        show(els.uploadMessage, `“${file.name}” was not uploaded: ${detail}`, 'error');
      }
      uploadNext();
    });
    xhr.addEventListener('error', () => {
      els.progressRow.hidden = true;
      show(els.uploadMessage, `“${file.name}” was not uploaded. ${SERVER_DOWN}`, 'error');
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
    for (const name of ['timeupdate', 'durationchange', 'seeked', 'loadedmetadata']) {
      el.addEventListener(name, updatePosition);
    }
  }
  els.wave.addEventListener('click', seekFromWaveform);
  window.addEventListener('resize', drawWaveform);
  document.addEventListener('visibilitychange', () => {
    // Timers sleep in background tabs; renew at once if the link went stale meanwhile.
    const current = state.current;
    if (document.visibilityState === 'visible' && current && current.refreshAt && Date.now() >= current.refreshAt) {
      refreshSource(current);
    }
  });

  document.addEventListener('keydown', (event) => {
    if (!state.current || event.altKey || event.ctrlKey || event.metaKey || els.dialog.open) return;
    const target = event.target;
    const tag = target && target.tagName;
    if (target && (target.isContentEditable || tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT')) return;
    if (target === els.audio || target === els.video) return; // native controls have their own keys
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
  els.dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    els.dropZone.classList.add('over');
  });
  els.dropZone.addEventListener('dragleave', () => els.dropZone.classList.remove('over'));
  els.dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    els.dropZone.classList.remove('over');
    const files = [...(event.dataTransfer ? event.dataTransfer.files : [])];
    if (files.length) queueUploads(files);
  });

  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) signIn(saved);
  else showSignIn('');
})();
