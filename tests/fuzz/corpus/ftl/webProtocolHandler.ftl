protocolhandler-mailto-os-handler-yes-button = Als Standard festlegen
protocolhandler-mailto-os-handler-no-button = Nicht jetzt
protocolhandler-mailto-handler-set = <strong>{ -brand-short-name } zum Öffnen von { $url }</strong> verwenden, wenn Sie auf einen Link klicken, der Ihre E-Mail öffnet?
protocolhandler-mailto-handler-confirm = <strong>{ -brand-short-name } öffnet { $url }</strong> jedes Mal, wenn Sie auf einen Link klicken, der eine E-Mail sendet.
