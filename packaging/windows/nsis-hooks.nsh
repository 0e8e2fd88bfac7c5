; CTI Panel NSIS installer hooks (bundle.windows.nsis.installerHooks in tauri.conf.json).
;
; Managed settings: the installer puts a provisioning file at
; %ProgramData%\cti-panel\provisioning.toml, where the panel reads it. Sources, first found wins:
;   1. /PROVISIONING=<file> on the installer's command line
;        "CTI Panel_0.1.0_x64-setup.exe" /S /PROVISIONING=\\server\share\cti-panel\provisioning.toml
;   2. provisioning.toml beside the installer .exe (copy both to a share and run from there)
;   3. a file baked in at build time: set CTI_PANEL_PROVISIONING_SRC to its absolute path
;      before `tauri build` (the CI workflow does this when an admin provides a file)
; The file stays on uninstall: it belongs to the admin.

!include "FileFunc.nsh"
!include "LogicLib.nsh"

!macro NSIS_HOOK_POSTINSTALL
  Push $0
  Push $1
  Push $2
  ; Remember the shell folder context (per-user installs use "current").
  StrCpy $2 "current"
  ${If} ${ShellVarContextAll}
    StrCpy $2 "all"
  ${EndIf}
  SetShellVarContext all

  !if /FileExists "$%CTI_PANEL_PROVISIONING_SRC%"
    SetOutPath "$APPDATA\cti-panel"
    File "/oname=provisioning.toml" "$%CTI_PANEL_PROVISIONING_SRC%"
    DetailPrint "Managed settings installed (built in)"
  !endif

  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/PROVISIONING=" $1
  ${If} ${Errors}
  ${OrIf} $1 == ""
    StrCpy $1 "$EXEDIR\provisioning.toml"
  ${EndIf}
  ${If} ${FileExists} "$1"
    CreateDirectory "$APPDATA\cti-panel"
    ClearErrors
    CopyFiles /SILENT "$1" "$APPDATA\cti-panel\provisioning.toml"
    ${If} ${Errors}
      DetailPrint "Could not copy the managed settings from $1"
    ${Else}
      DetailPrint "Managed settings installed from $1"
    ${EndIf}
  ${EndIf}

  ${If} $2 == "current"
    SetShellVarContext current
  ${EndIf}
  SetOutPath "$INSTDIR"
  Pop $2
  Pop $1
  Pop $0
!macroend
