restart-required-title = Neustart erforderlich
restart-required-heading = Zum Weiterverwenden { -brand-short-name } neu starten
restart-required-intro = Eine Aktualisierung für { -brand-short-name } wurde im Hintergrund initialisiert. Sie müssen neu starten, um die Aktualisierung abzuschließen.
window-restoration-info = Ihre Fenster und Tabs werden schnell wiederhergestellt, die privaten jedoch nicht.
restart-button-label = { -brand-short-name } neu starten
