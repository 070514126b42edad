account-finish-account-setup = Kontoeinrichtung abschließen
account-disconnected2 = Konto getrennt
account-send-to-all-devices = An alle Geräte senden
account-manage-devices = Geräte verwalten…
account-reconnect = { $email } wieder verbinden
account-verify = { $email } bestätigen
account-send-to-all-devices-titlecase = An alle Geräte senden
account-manage-devices-titlecase = Geräte verwalten…
account-send-tab-to-device-verify-status = Konto nicht verifiziert
account-send-tab-to-device-verify2 = Verifizieren Sie Ihr Konto
account-connection-title-2 = Konto
account-connection-connected-with = Dieser Computer ist jetzt mit { $deviceName } verbunden.
account-connection-connected-with-noname = Dieser Computer ist jetzt mit einem neuen Gerät verbunden.
account-connection-connected = Sie haben sich erfolgreich angemeldet
account-connection-disconnected = Dieser Computer wurde getrennt.
account-single-tab-arriving-title = Tab empfangen
account-single-tab-arriving-from-device-title = Tab von { $deviceName }
account-single-tab-arriving-truncated-url = { $url }…
account-multiple-tabs-arriving-title = Tabs empfangen
account-multiple-tabs-arriving-from-single-device =
    { $tabCount ->
        [one] { $tabCount } Tab wurde von { $deviceName } empfangen.
       *[other] { $tabCount } Tabs wurden von { $deviceName } empfangen.
    }
account-multiple-tabs-arriving-from-multiple-devices =
    { $tabCount ->
        [one] { $tabCount } Tab wurde von Ihren synchronisierten Geräten empfangen.
       *[other] { $tabCount } Tabs wurden von Ihren synchronisierten Geräten empfangen.
    }
account-multiple-tabs-arriving-from-unknown-device =
    { $tabCount ->
        [one] { $tabCount } Tab wurde empfangen
       *[other] { $tabCount } Tabs wurden empfangen
    }
account-view-recently-closed-tabs = Kürzlich geschlossene Tabs anzeigen
account-tabs-closed-remotely =
    { $closedCount ->
        [one] { $closedCount } { -brand-short-name }-Tab geschlossen
       *[other] { $closedCount } { -brand-short-name }-Tabs geschlossen
    }
