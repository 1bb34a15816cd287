-- GCMeet: example Prosody settings for a Jitsi Meet server that admits only
-- members of the GovChat conversation (R6). Merge into
-- /etc/prosody/conf.d/<jitsi domain>.cfg.lua; see docs/gcmeet.md.
--
-- Replace meet.example.gov.my with gcmeet.domain, govchat.example.gov.my with
-- the homeserver's public address, and keep the values below equal to
-- govchat.yaml's gcmeet section (app_id, audience, app_secret).
--
-- Set-up A (recommended): GovChat issues the JWT, Prosody checks it
-- (jitsi-meet-tokens, "token" authentication).

-- Tokens are checked on every MUC: no token, no entry.
allow_empty_token = false
-- The `iss` and `aud` GovChat writes (gcmeet.app_id, gcmeet.audience). Never "*".
asap_accepted_issuers = { "govchat" }
asap_accepted_audiences = { "jitsi" }
-- `room` must name the conference exactly (no "*" tokens).
asap_require_room_claim = true
enable_domain_verification = true

VirtualHost "meet.example.gov.my"
    authentication = "token"
    app_id = "govchat"                       -- gcmeet.app_id
    -- HS256 (default): gcmeet.app_secret, or gcmeet_app_secret from
    -- $GOVCHAT_DATA_DIR/secrets.yaml when the setting is empty.
    app_secret = "CHANGE-ME-gcmeet-app-secret"
    -- RS256 instead: remove app_secret and let Prosody fetch the public key
    -- <asap_key_server>/<sha256 hex of kid>.pem from the homeserver.
    -- asap_key_server = "https://govchat.example.gov.my/_synapse/client/govchat/v1/gcmeet/asap"
    allow_empty_token = false
    modules_enabled = {
        "bosh";
        "websocket";
        "ping";
        "speakerstats";
        "conference_duration";
        "muc_lobby_rooms";
        "muc_breakout_rooms";
        "token_affiliation";    -- `moderator` claim -> Jitsi moderator
    }
    c2s_require_encryption = false
    main_muc = "conference.meet.example.gov.my"
    lobby_muc = "lobby.meet.example.gov.my"
    breakout_rooms_muc = "breakout.meet.example.gov.my"

-- Token verification on every MUC, breakout rooms included: a token for one
-- conversation cannot open another conversation's conference or its breakouts.
Component "conference.meet.example.gov.my" "muc"
    restrict_room_creation = true
    storage = "memory"
    modules_enabled = {
        "muc_meeting_id";
        "muc_domain_mapper";
        "token_verification";
        "token_affiliation";
    }
    muc_room_locking = false
    muc_room_default_public_jids = true

Component "breakout.meet.example.gov.my" "muc"
    restrict_room_creation = true
    storage = "memory"
    modules_enabled = {
        "muc_meeting_id";
        "muc_domain_mapper";
        "token_verification";
    }
    muc_room_locking = false
    muc_room_default_public_jids = true

Component "lobby.meet.example.gov.my" "muc"
    storage = "memory"
    restrict_room_creation = true
    muc_room_locking = false
    muc_room_default_public_jids = true

-- Set-up B: Element's built-in Jitsi calls (openidtoken-jwt). Element signs its
-- own JWT carrying a Matrix OpenID token; Prosody asks GovChat whether that
-- user is joined to the room. Use instead of the VirtualHost above:
--
-- VirtualHost "meet.example.gov.my"
--     authentication = "matrix_user_verification"
--     app_id = "govchat"
--     uvs_base_url = "https://govchat.example.gov.my/_synapse/client/govchat/v1/gcmeet"
--     -- Optional: make members at state_default power or above Jitsi owners.
--     uvs_sync_power_levels = true
--     modules_enabled = { "bosh"; "websocket"; "ping"; "muc_breakout_rooms"; }
--     main_muc = "conference.meet.example.gov.my"
--     breakout_rooms_muc = "breakout.meet.example.gov.my"
--
-- with "matrix_power_sync" in the conference Component's modules_enabled when
-- uvs_sync_power_levels is on. No uvs_auth_token is needed: the OpenID token in
-- each request is itself the proof, and the answer is only about its owner.
