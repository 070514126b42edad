-brand-short-name =
    { $case ->
       *[nom] Firefox
        [gen] Firefoxu
        [dat] Firefoxu
        [acc] Firefox
        [voc] Firefoxe
        [loc] Firefoxu
        [ins] Firefoxem
    }
    .gender = masculine
-vendor-short-name = Mozilla
-brand-full-name = { -vendor-short-name } { -brand-short-name }
update-available = Je k dispozici nová verze { -brand-short-name(case: "gen") }.
about = O aplikaci { -brand-full-name }
with-ins = S {-brand-short-name( case : "ins" )} a { -unknown-term } i { -vendor-short-name }
