# installers\windows\build.ps1 [-Python python] [-Out build\windows]
#
# On Windows 10/11 with Python 3.11+ that has Heard and PyInstaller (pip install ".[installers]")
# and Inno Setup 6 (iscc.exe; on GitHub's windows-2022 runners it is there already):
#   1. icons (installers\icons.py -> heard.ico)
#   2. PyInstaller on installers\heard.spec -> Out\dist\heard\ with heard.exe (windowed: no
#      console, no stdout) and heard-cli.exe (its console twin, for the command line)
#   3. the self-test twice: heard-cli.exe --selftest (lines on the console), and the windowed
#      heard.exe --selftest=FILE, judged by its exit code (a windowed exe has no stdout)
#   4. a zip of the folder, and the Inno Setup installer heard-VERSION-windows-x64-setup.exe
# Not run on the project's Linux CI machine; the release workflow runs it.
param(
    [string]$Python = "python",
    [string]$Out = "build\windows"
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path "$PSScriptRoot\..\..").Path
New-Item -ItemType Directory -Force -Path $Out | Out-Null
$Out = (Resolve-Path $Out).Path
$Version = (& $Python -c "from importlib.metadata import version; print(version('heard'))").Trim()
if ($LASTEXITCODE) { throw "Heard is not installed in $Python" }
$NumericVersion = ($Version -replace '^([0-9]+(\.[0-9]+)*).*$', '$1')

# 1. icons
& $Python "$Root\installers\icons.py" "$Out\icons"
if ($LASTEXITCODE) { throw "icons failed" }

# 2. the bundle
Remove-Item -Recurse -Force -ErrorAction SilentlyContinue "$Out\work", "$Out\dist"
$env:HEARD_ICON_DIR = "$Out\icons"
& $Python -m PyInstaller --noconfirm --log-level WARN --distpath "$Out\dist" --workpath "$Out\work" "$Root\installers\heard.spec"
if ($LASTEXITCODE) { throw "PyInstaller failed" }
$Bundle = "$Out\dist\heard"

# 3. self-test, console twin and windowed exe
$env:QT_QPA_PLATFORM = "offscreen"
& "$Bundle\heard-cli.exe" --selftest
if ($LASTEXITCODE) { throw "heard-cli.exe --selftest failed" }
$Report = "$Out\selftest-windowed.txt"
$p = Start-Process -FilePath "$Bundle\heard.exe" -ArgumentList "--selftest=`"$Report`"" -Wait -PassThru
Get-Content $Report
if ($p.ExitCode -ne 0) { throw "heard.exe --selftest exited with $($p.ExitCode)" }
Remove-Item Env:\QT_QPA_PLATFORM

# 4. zip and installer
$Zip = "$Out\heard-$Version-windows-x64.zip"
Remove-Item -Force -ErrorAction SilentlyContinue $Zip
Compress-Archive -Path $Bundle -DestinationPath $Zip
$Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
& $Iscc "/DAppVersion=$Version" "/DNumericVersion=$NumericVersion" "/DSourceDir=$Bundle" "/DIconFile=$Out\icons\heard.ico" "/DOutputDir=$Out" "$Root\installers\windows\heard.iss"
if ($LASTEXITCODE) { throw "Inno Setup failed" }
Get-ChildItem "$Out\*.exe", $Zip | ForEach-Object { "{0}  {1:N1} MB" -f $_.Name, ($_.Length / 1MB) }
